"""Thin endpoints for support tickets (P-11): this month's quota, list, open, read,
reply."""

from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import LimitOffsetPagination, paginate

from chappe.accounts.roles import Perm
from chappe.api.v1.base import actor_of
from chappe.support.schemas import QuotaOut, TicketCreate, TicketDetail, TicketOut, TicketReply
from chappe.support.selectors import ticket_get, ticket_list
from chappe.support.services import ticket_client_reply, ticket_open, ticket_quota

router = Router()


@router.get("/support/quota", response=QuotaOut, tags=["support"])
def quota_read(request: HttpRequest):
    actor = actor_of(request, Perm.ACCOUNT_VIEW)
    return ticket_quota(account=actor.account)


@router.get("/support/tickets", response=list[TicketOut], tags=["support"])
@paginate(LimitOffsetPagination)
def tickets_read(request: HttpRequest):
    actor = actor_of(request, Perm.ACCOUNT_VIEW)
    return ticket_list(account=actor.account)


@router.post("/support/tickets", response={201: TicketDetail}, tags=["support"])
def ticket_create(request: HttpRequest, payload: TicketCreate):
    """Open a ticket (refused with 403 `ticket_quota_exceeded` over the month's quota)."""
    actor = actor_of(request, Perm.ACCOUNT_VIEW)
    return Status(201, ticket_open(actor=actor, account=actor.account, **payload.dict()))


@router.get("/support/tickets/{ticket_id}", response=TicketDetail, tags=["support"])
def ticket_read(request: HttpRequest, ticket_id: str):
    actor = actor_of(request, Perm.ACCOUNT_VIEW)
    return ticket_get(account=actor.account, id=ticket_id)


@router.post("/support/tickets/{ticket_id}/messages", response={201: TicketDetail},
             tags=["support"])
def ticket_reply(request: HttpRequest, ticket_id: str, payload: TicketReply):
    actor = actor_of(request, Perm.ACCOUNT_VIEW)
    ticket = ticket_get(account=actor.account, id=ticket_id)
    ticket_client_reply(actor=actor, ticket=ticket, body=payload.body)
    return Status(201, ticket)
