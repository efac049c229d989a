"""Template helpers of the campaign pages."""

from django import template
from django.utils.html import format_html

from chappe.campaigns.models import Campaign

register = template.Library()

# Badge colour per campaign status (the classes of chappe/web/labels.py).
BADGES = {
    "draft": "info",
    "review": "suspended",
    "launching": "info",
    "running": "active",
    "paused": "suspended",
    "canceling": "suspended",
    "completed": "active",
    "canceled": "terminated",
    "refused": "error",
}


@register.simple_tag
def campaign_badge(campaign: Campaign) -> str:
    return format_html('<span class="badge badge-{}" data-status="{}">{}</span>',
                       BADGES.get(campaign.status, "info"), campaign.status,
                       campaign.get_status_display())
