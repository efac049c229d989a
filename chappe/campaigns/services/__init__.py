"""Writes of campaigns: drafts, launch and review, pacing, pause, resume and cancel."""

from chappe.campaigns.services.campaigns import (
    campaign_create,
    campaign_delete,
    campaign_update,
    campaigns_erase_number,
)
from chappe.campaigns.services.launch import (
    campaign_launch,
    campaign_launch_run,
    campaign_review_refuse,
    campaign_review_release,
)
from chappe.campaigns.services.pacing import (
    campaign_cancel,
    campaign_cancel_run,
    campaign_pace,
    campaign_pause,
    campaign_resume,
)

__all__ = [
    "campaign_cancel",
    "campaign_cancel_run",
    "campaign_create",
    "campaign_delete",
    "campaign_launch",
    "campaign_launch_run",
    "campaign_pace",
    "campaign_pause",
    "campaign_resume",
    "campaign_review_refuse",
    "campaign_review_release",
    "campaign_update",
    "campaigns_erase_number",
]
