"""The members' .ics subscription feeds, mounted at /calendar/ in recruitflow.urls."""

from django.urls import path

from scheduling import feed, links

links.register()

app_name = "calendar_feed"
urlpatterns = [path("<feed_token:feed_token>.ics", feed.calendar_feed, name="feed")]
