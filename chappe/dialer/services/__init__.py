"""The call campaigns' writes: drafts and lifecycle, compliance records, dialing."""

from chappe.dialer.services.campaigns import (
    bloctel_exclude,
    call_campaign_create,
    call_campaign_delete,
    call_campaign_launch,
    call_campaign_pause,
    call_campaign_resume,
    call_campaign_stop,
    call_campaign_update,
)
from chappe.dialer.services.compliance import (
    bloctel_export_lines,
    bloctel_import,
    consent_record,
    consent_withdraw,
    contract_exempt,
    dialer_policy_set,
    numbers_in_file,
)
from chappe.dialer.services.dialing import (
    Dial,
    agent_for_call,
    campaign_finish_if_done,
    dial_finish,
    dials_claim,
    dials_due,
    disposition_set,
    pacing_floor,
    preview_next,
)

__all__ = [
    "Dial",
    "agent_for_call",
    "bloctel_exclude",
    "bloctel_export_lines",
    "bloctel_import",
    "call_campaign_create",
    "call_campaign_delete",
    "call_campaign_launch",
    "call_campaign_pause",
    "call_campaign_resume",
    "call_campaign_stop",
    "call_campaign_update",
    "campaign_finish_if_done",
    "consent_record",
    "consent_withdraw",
    "contract_exempt",
    "dial_finish",
    "dialer_policy_set",
    "dials_claim",
    "dials_due",
    "disposition_set",
    "numbers_in_file",
    "pacing_floor",
    "preview_next",
]
