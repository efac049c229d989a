"""Readable, translated names of the statuses the web app shows, and their badge colours.

Message statuses are a `StrEnum` in chappe.messaging.lifecycle (no display names there);
a send's per-recipient outcome adds "invalid", "duplicate" and "sender_rejected"."""

from django.utils.translation import pgettext_lazy

STATUS_LABELS = {
    # Message lifecycle (chappe.messaging.lifecycle.MessageStatus).
    "accepted": pgettext_lazy("message status", "Accepted"),
    "scheduled": pgettext_lazy("message status", "Scheduled"),
    "queued": pgettext_lazy("message status", "Queued"),
    "sent": pgettext_lazy("message status", "Sent"),
    "delivered": pgettext_lazy("message status", "Delivered"),
    "undelivered": pgettext_lazy("message status", "Undelivered"),
    "expired": pgettext_lazy("message status", "Expired"),
    "rejected": pgettext_lazy("message status", "Rejected"),
    "canceled": pgettext_lazy("message status", "Canceled"),
    "opted_out": pgettext_lazy("message status", "Opted out"),
    "held_for_review": pgettext_lazy("message status", "Held for review"),
    # Recipients for whom no message was made.
    "invalid": pgettext_lazy("message status", "Invalid number"),
    "duplicate": pgettext_lazy("message status", "Duplicate"),
    "sender_rejected": pgettext_lazy("message status", "Sender refused"),
    "content_refused": pgettext_lazy("message status", "Refused by the content policy"),
}

# Badge colour per status: active (green), info (blue), scheduled (violet), suspended
# (amber), error (red), terminated (grey). Invoice and order statuses are included, and
# those of rented numbers and calls.
BADGE_STYLES = {
    "delivered": "active",
    "paid": "active",
    "accepted": "info",
    "queued": "info",
    "sent": "info",
    "scheduled": "scheduled",
    "duplicate": "suspended",
    "issued": "suspended",
    "pending": "suspended",
    "undelivered": "error",
    "expired": "error",
    "rejected": "error",
    "invalid": "error",
    "sender_rejected": "error",
    "content_refused": "error",
    "held_for_review": "suspended",
    "overdue": "error",
    "canceled": "terminated",
    "cancelled": "terminated",
    "opted_out": "terminated",
    # Rented numbers and calls.
    "active": "active",
    "suspended": "suspended",
    "released": "terminated",
    "ported_out": "terminated",
    "answered": "active",
    "voicemail": "scheduled",
    "busy": "suspended",
    "no_answer": "suspended",
    "abandoned": "terminated",
    "failed": "error",
}


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def badge_style(status: str) -> str:
    return BADGE_STYLES.get(status, "info")
