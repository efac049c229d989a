"""Jobs of campaigns: the launch, the pacing steps, the cancellation (thin: the services
do the work and stop by themselves when their run is no longer the campaign's)."""

from chappe.campaigns.services import campaign_cancel_run, campaign_launch_run, campaign_pace
from chappe.queue.registry import job_handler


@job_handler("campaigns.launch")
def launch(payload: dict) -> None:
    campaign_launch_run(campaign_id=payload["campaign_id"], run=payload["run"])


@job_handler("campaigns.pace")
def pace(payload: dict) -> None:
    campaign_pace(campaign_id=payload["campaign_id"], run=payload["run"], step=payload["step"])


@job_handler("campaigns.cancel")
def cancel(payload: dict) -> None:
    campaign_cancel_run(campaign_id=payload["campaign_id"], run=payload["run"])
