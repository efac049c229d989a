"""Carrier simulator controls for clients trying the platform (embedded mode)."""

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from chappe.accounts.roles import Perm
from chappe.api.v1.base import actor_of
from chappe.carriers.models import Connector
from chappe.carriers.services import SIMULATOR_TYPE
from chappe.carriers.simulator.connector import simulator_inject_mo
from chappe.common.errors import NotFound
from chappe.common.numbers import InvalidNumber, normalize
from chappe.messaging.models import Message

router = Router(tags=["simulator"])


class SimulatedReply(Schema):
    from_number: str = Field(alias="from", description="The handset that replies")
    to: str = Field(description="The sender (or STOP short code) it replies to")
    text: str = Field(min_length=1, max_length=1000)


class SimulatedReplyOut(Schema):
    carrier_id: str
    connector: str


@router.post("/simulator/replies", response={202: SimulatedReplyOut})
def simulator_reply(request: HttpRequest, payload: SimulatedReply):
    """Make the built-in simulator deliver a reply (e.g. `STOP`) from a handset this
    account has sent a message to (404 otherwise, or when no simulator is configured)."""
    actor = actor_of(request, Perm.MESSAGING_SEND)
    try:
        number = normalize(payload.from_number, default_country=actor.account.default_country)
    except InvalidNumber as exc:
        raise NotFound() from exc
    simulator = Connector.objects.filter(type=SIMULATOR_TYPE, enabled=True).first()
    known = Message.objects.filter(account=actor.account, recipient=number.e164).exists()
    if simulator is None or not known:
        raise NotFound()
    mo = simulator_inject_mo(connector=simulator.name, from_number=number.e164,
                             to=payload.to, text=payload.text)
    return Status(202, {"carrier_id": mo.carrier_id, "connector": mo.connector})
