from django.urls import path

from . import draft_views, run_views, simulate_views, views

app_name = "journeys"
urlpatterns = [
    path("", views.journey_list, name="list"),
    path("new/", views.journey_new, name="new"),
    path("<int:pk>/", views.journey_builder, name="builder"),
    path("<int:pk>/trigger/", views.journey_trigger_save, name="trigger"),
    path("<int:pk>/exit-rules/", views.journey_exit_rules_save, name="exit_rules"),
    path("<int:pk>/activate/", views.journey_activate, name="activate"),
    path("<int:pk>/pause/", views.journey_pause, name="pause"),
    path("<int:pk>/delete/", views.journey_delete, name="delete"),
    path("<int:pk>/publish/", draft_views.journey_publish, name="publish"),
    path("<int:pk>/draft/discard/", draft_views.journey_discard_draft, name="discard_draft"),
    path("<int:pk>/steps/add/", views.step_add, name="step_add"),
    path("<int:pk>/steps/order/", draft_views.steps_reorder, name="steps_reorder"),
    path("<int:pk>/steps/<int:step_id>/", views.step_detail, name="step"),
    path("<int:pk>/steps/<int:step_id>/edit/", views.step_edit, name="step_edit"),
    path("<int:pk>/steps/<int:step_id>/move/", views.step_move, name="step_move"),
    path("<int:pk>/steps/<int:step_id>/remove/", views.step_remove, name="step_remove"),
    path("<int:pk>/simulate/", simulate_views.journey_simulate, name="simulate"),
    path("<int:pk>/dry-run/", simulate_views.journey_dry_run, name="dry_run"),
    path("<int:pk>/runs/", run_views.journey_runs, name="runs"),
    path("<int:pk>/runs/live/", run_views.journey_runs_live, name="runs_live"),
    path("<int:pk>/runs/<int:run_id>/", run_views.journey_run_detail, name="run"),
]
