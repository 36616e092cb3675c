"""Admin of per-show webhooks and their delivery log, scoped to the shows a creator manages.

A webhook's signing secret is generated when it is saved and shown only on
its own page (never in lists, logs or the change history). The delivery log
is read-only; a failed delivery can be sent again.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import Http404
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import ngettext

from episodes import webhooks
from episodes.admin_tenancy import TenantAdmin
from episodes.models import Podcast, Webhook, WebhookDelivery


@admin.register(Webhook)
class WebhookAdmin(TenantAdmin):
    list_display = ("url", "show", "active", "created_at")
    list_filter = ("active", ("podcast", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("podcast",)
    search_fields = ("url", "podcast__title", "podcast__slug")
    readonly_fields = ("signing_secret", "delivery_log", "created_at")
    fields = ("podcast", "url", "active", "signing_secret", "delivery_log", "created_at")
    actions = ("send_test_event", "rotate_secrets")

    @admin.display(description="Show", ordering="podcast__title")
    def show(self, obj: Webhook) -> str:
        return obj.podcast.title

    @admin.display(description="Signing secret")
    def signing_secret(self, obj: Webhook) -> str:
        if not obj.pk:
            return "Generated when you save the webhook."
        return format_html(
            "<code>{}</code><br>Each POST carries <code>X-Podcasthost-Signature: "
            "sha256=HMAC-SHA256(secret, timestamp + '.' + body)</code> and "
            "<code>X-Podcasthost-Timestamp</code>. Keep the secret private; "
            "“Rotate the signing secret” replaces it.",
            obj.secret,
        )

    @admin.display(description="Deliveries")
    def delivery_log(self, obj: Webhook) -> str:
        if not obj.pk:
            return "-"
        total = obj.deliveries.count()
        failed = obj.deliveries.filter(status=WebhookDelivery.Status.FAILED).count()
        return format_html(
            '<a href="{}?webhook__id__exact={}">Delivery log</a> ({} sent, {} failed)',
            reverse("admin:episodes_webhookdelivery_changelist"),
            obj.pk,
            total,
            failed,
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "podcast":
            kwargs["queryset"] = Podcast.objects.managed_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.action(description="Send a test event", permissions=["change"])
    def send_test_event(self, request, queryset) -> None:
        # queryset is scoped to the user's shows by get_queryset.
        sent = [webhooks.send_test(webhook) for webhook in queryset.select_related("podcast")]
        self.message_user(
            request,
            ngettext(
                "Test event queued for %(n)d webhook: see its delivery log.",
                "Test event queued for %(n)d webhooks: see their delivery logs.",
                len(sent),
            )
            % {"n": len(sent)},
            messages.SUCCESS,
        )

    @admin.action(description="Rotate the signing secret", permissions=["change"])
    def rotate_secrets(self, request, queryset) -> None:
        rotated = [webhook.rotate_secret() for webhook in queryset]
        self.message_user(
            request,
            ngettext(
                "New signing secret for %(n)d webhook: see its page.",
                "New signing secrets for %(n)d webhooks: see their pages.",
                len(rotated),
            )
            % {"n": len(rotated)},
            messages.SUCCESS,
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "event_kind",
        "webhook",
        "status",
        "attempts",
        "response_status",
        "last_attempt_at",
        "error",
    )
    list_filter = ("status", "event__kind", ("webhook", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("webhook__podcast", "event")
    date_hierarchy = "created_at"
    fields = (
        "webhook",
        "event_kind",
        "status",
        "attempts",
        "response_status",
        "response_excerpt",
        "error",
        "created_at",
        "last_attempt_at",
        "delivered_at",
        "payload",
    )
    readonly_fields = fields
    actions = ("deliver_again",)

    def get_queryset(self, request):
        return super().get_queryset(request).managed_by(request.user)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such delivery, or not one of your shows'.")
        return obj

    @admin.display(description="event", ordering="event__kind")
    def event_kind(self, obj: WebhookDelivery) -> str:
        return obj.event.get_kind_display()

    @admin.display(description="payload (JSON as sent)")
    def payload(self, obj: WebhookDelivery) -> str:
        return format_html("<pre>{}</pre>", webhooks.body_of(obj.event.payload).decode())

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Deliver again (failed deliveries)")
    def deliver_again(self, request, queryset) -> None:
        # queryset is scoped to the user's shows by get_queryset.
        queued = sum(webhooks.redeliver(delivery) for delivery in queryset)
        self.message_user(
            request,
            ngettext("%(n)d delivery queued again.", "%(n)d deliveries queued again.", queued)
            % {"n": queued},
            messages.SUCCESS if queued else messages.WARNING,
        )
