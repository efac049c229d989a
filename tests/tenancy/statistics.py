"""Tenant data behind /api/v1/statistics/…: a caller's visit of the tenant's queue answered
by its agent, and an outbound call record from a number only this tenant has. Written at
noon UTC of today's UTC date: the harness asks for today, and the period is cut in the
account's time zone (Europe/Paris by default), which noon falls inside either way."""

from datetime import UTC, datetime, time

from chappe.agents.models import QueueEvent
from chappe.callcenter.models import CallRecord
from tests.tenancy import Tenant


def seed(t: Tenant) -> None:
    noon = datetime.combine(datetime.now(UTC).date(), time(12), tzinfo=UTC)
    queue, agent = t.objects["queue"], t.objects["agent"]
    for kind, details in (("entered", {}), ("connected", {"wait": 3})):
        QueueEvent.objects.create(account=t.account, queue=queue, kind=kind, at=noon,
                                  call_id=f"stats-{t.tag}", details=details,
                                  agent=agent if kind == "connected" else None)
    number = f"+3319{int(t.tag.rsplit('-', 1)[1], 16) % 10**7:07d}"
    CallRecord.objects.create(account=t.account, sip_call_id=f"stats-out-{t.tag}",
                              direction="outbound", from_number=number,
                              to_number="+33600000009", started_at=noon)
    t.markers.add(number)
    _crm(t)


def _crm(t: Tenant) -> list:
    from chappe.agents.models import CrmEndpoint

    endpoint = CrmEndpoint.objects.filter(account=t.account).first() or \
        CrmEndpoint.objects.create(account=t.account, url=f"https://crm.example/{t.tag}")
    t.markers.add(f"https://crm.example/{t.tag}")
    queue_url = f"https://crm.example/queue-{t.tag}"  # a queue's own (decision 0057)
    CrmEndpoint.objects.get_or_create(account=t.account, queue=t.objects["queue"],
                                      defaults={"url": queue_url})
    t.markers.add(queue_url)
    return [endpoint.pk]


PATH_PARAMS = {"crm_endpoint_id": _crm}
BODY_OVERRIDES = {"PUT /api/v1/crm-endpoints": {"url": "https://crm.example/lookup"}}
