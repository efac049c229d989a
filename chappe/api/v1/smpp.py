"""SMPP credentials of the account (`/api/v1/smpp/accounts`)."""

from datetime import datetime
from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate
from pydantic import Field

from chappe.accounts.roles import Perm
from chappe.api.v1.base import actor_of
from chappe.smpp_server import selectors, services
from chappe.smpp_server.models import Alphabet

router = Router(tags=["smpp"])


class SmppAccountIn(Schema):
    system_id: str = Field(description="1 to 15 letters, digits, '.', '_' or '-'")
    password: str = Field(description="1 to 8 characters; stored hashed, never shown again")
    allowed_ips: list[str] = Field(default_factory=list, description="Empty: any address")
    max_binds: int = 4
    max_msg_per_s: int = 100
    default_sender: str = ""
    default_alphabet: Alphabet = Field(Alphabet.GSM,
                                       description="What data_coding 0 means in submits")


class SmppAccountPatch(Schema):
    password: str | None = None
    allowed_ips: list[str] | None = None
    max_binds: int | None = None
    max_msg_per_s: int | None = None
    default_sender: str | None = None
    default_alphabet: Alphabet | None = None
    enabled: bool | None = None


class SmppAccountOut(Schema):
    id: UUID
    system_id: str
    allowed_ips: list[str]
    max_binds: int
    max_msg_per_s: int
    default_sender: str
    default_alphabet: str
    enabled: bool
    created_at: datetime


@router.get("/smpp/accounts", response=list[SmppAccountOut])
@paginate(LimitOffsetPagination)
def smpp_account_list(request: HttpRequest):
    actor = actor_of(request, Perm.API_KEYS_MANAGE)
    return selectors.smpp_account_list(account=actor.account).filter(enabled=True)


@router.post("/smpp/accounts", response={201: SmppAccountOut})
def smpp_account_create(request: HttpRequest, payload: SmppAccountIn):
    """SMPP credentials for binding to the SMPP server (port 2775)."""
    actor = actor_of(request)
    smpp = services.smpp_account_create(actor=actor, account=actor.account,
                                        **payload.dict())
    return Status(201, smpp)


@router.get("/smpp/accounts/{smpp_account_id}", response=SmppAccountOut)
def smpp_account_read(request: HttpRequest, smpp_account_id: str):
    actor = actor_of(request, Perm.API_KEYS_MANAGE)
    return selectors.smpp_account_get(account=actor.account, id=smpp_account_id)


@router.patch("/smpp/accounts/{smpp_account_id}", response=SmppAccountOut)
def smpp_account_update(request: HttpRequest, smpp_account_id: str,
                        payload: SmppAccountPatch):
    actor = actor_of(request, Perm.API_KEYS_MANAGE)
    smpp = selectors.smpp_account_get(account=actor.account, id=smpp_account_id)
    return services.smpp_account_update(actor=actor, smpp=smpp,
                                        **payload.dict(exclude_unset=True))


@router.delete("/smpp/accounts/{smpp_account_id}", response={204: None})
def smpp_account_delete(request: HttpRequest, smpp_account_id: str):
    """Disable the credentials (binds are refused from now on)."""
    actor = actor_of(request, Perm.API_KEYS_MANAGE)
    smpp = selectors.smpp_account_get(account=actor.account, id=smpp_account_id)
    services.smpp_account_delete(actor=actor, smpp=smpp)
    return Status(204, None)
