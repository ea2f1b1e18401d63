"""Settings → Webhooks (owners and admins): the subscriptions, one subscription's settings,
secret, verification snippets and delivery log, and one delivery's attempts."""

from __future__ import annotations

from datetime import timedelta
from itertools import groupby

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from partners import event_types, selectors, services, snippets
from partners.forms import ReplayFailedForm, SubscriptionForm
from partners.models import Delivery, Subscription
from recruitflow.decorators import admin_required


def _apply_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _type_groups():
    types = [t for t in event_types.all_types() if t.name != event_types.TEST_EVENT]
    return [(group, list(items)) for group, items in groupby(types, key=lambda t: t.group)]


def _no_store(response):
    response["Cache-Control"] = "no-store, private"
    return response


@admin_required
def index(request):
    return render(
        request,
        "partners/settings_webhooks.html",
        {"subscriptions": selectors.subscriptions(organization=request.organization)},
    )


@admin_required
def create(request):
    form = SubscriptionForm(request.POST or None, initial={"enabled": True})
    if request.method == "POST" and form.is_valid():
        try:
            subscription = services.subscription_create(
                organization=request.organization,
                actor=request.user,
                **form.cleaned_data,
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, "Webhook added. Copy its signing secret now.")
            return _no_store(_detail(request, subscription, new_secret=subscription.secret))
    return render(
        request,
        "partners/subscription_form.html",
        {"form": form, "type_groups": _type_groups(), "subscription": None},
    )


def _detail(request, subscription: Subscription, *, new_secret: str = "", form=None):
    page = Paginator(
        selectors.deliveries(organization=request.organization, subscription=subscription), 25
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "partners/subscription_detail.html",
        {
            "subscription": subscription,
            "form": form
            or SubscriptionForm(
                initial={
                    "url": subscription.url,
                    "description": subscription.description,
                    "event_types": subscription.event_types,
                    "enabled": subscription.enabled,
                    "ordered": subscription.ordered,
                }
            ),
            "type_groups": _type_groups(),
            "new_secret": new_secret,
            "deliveries": page,
            "replay_form": ReplayFailedForm(
                initial={
                    "since": (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
                }
            ),
            "python_snippet": snippets.PYTHON,
            "node_snippet": snippets.NODE,
            "rotation_active": subscription.previous_secret_expires_at is not None
            and subscription.previous_secret_expires_at > timezone.now(),
        },
    )


@admin_required
def detail(request, subscription_id: int):
    subscription = get_object_or_404(Subscription, pk=subscription_id)
    if request.method == "POST":
        form = SubscriptionForm(request.POST)
        if form.is_valid():
            try:
                services.subscription_update(subscription=subscription, **form.cleaned_data)
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, "Webhook saved.")
                return redirect("partners:detail", subscription.pk)
        subscription.refresh_from_db()
        return _detail(request, subscription, form=form)
    return _detail(request, subscription)


@admin_required
@require_POST
def rotate(request, subscription_id: int):
    subscription = get_object_or_404(Subscription, pk=subscription_id)
    rotation = services.subscription_rotate_secret(subscription=subscription)
    messages.success(
        request,
        "New signing secret made. For 24 hours every delivery is signed with both the new and "
        "the old secret, so switch your receiver over now.",
    )
    return _no_store(_detail(request, rotation.subscription, new_secret=rotation.secret))


@admin_required
@require_POST
def test(request, subscription_id: int):
    subscription = get_object_or_404(Subscription, pk=subscription_id)
    services.test_event_send(subscription=subscription)
    if subscription.enabled:
        messages.success(request, "Test event queued: it appears in the delivery log below.")
    else:
        messages.warning(
            request, "Test event queued, but the webhook is off: switch it on to send it."
        )
    return redirect("partners:detail", subscription.pk)


@admin_required
@require_POST
def delete(request, subscription_id: int):
    subscription = get_object_or_404(Subscription, pk=subscription_id)
    services.subscription_delete(subscription=subscription)
    messages.success(request, f"Webhook to {subscription.url} deleted.")
    return redirect("partners:settings")


@admin_required
@require_POST
def replay_failed(request, subscription_id: int):
    subscription = get_object_or_404(Subscription, pk=subscription_id)
    form = ReplayFailedForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the date and time to replay failed deliveries from.")
        return redirect("partners:detail", subscription.pk)
    count = services.deliveries_replay_failed(
        subscription=subscription, since=form.cleaned_data["since"]
    )
    if count:
        messages.success(request, f"{count} failed deliver{'y' if count == 1 else 'ies'} queued.")
    else:
        messages.info(request, "No failed deliveries since then.")
    return redirect("partners:detail", subscription.pk)


@admin_required
def delivery_detail(request, delivery_id: int):
    delivery = get_object_or_404(
        Delivery.objects.select_related("event", "subscription"), pk=delivery_id
    )
    return render(
        request,
        "partners/delivery_detail.html",
        {"delivery": delivery, "attempts": delivery.attempt_log.order_by("-number")},
    )


@admin_required
@require_POST
def delivery_replay(request, delivery_id: int):
    delivery = get_object_or_404(Delivery, pk=delivery_id)
    services.delivery_replay(delivery=delivery)
    messages.success(request, "Delivery queued to be sent again.")
    if request.POST.get("next") == "delivery":
        return redirect("partners:delivery", delivery.pk)
    return redirect("partners:detail", delivery.subscription_id)
