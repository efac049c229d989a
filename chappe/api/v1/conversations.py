"""The conversation inbox (SMS replies, Time2Chat, RCS) and Time2Chat numbers."""

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Header, Router, Status

from chappe.accounts.roles import Perm
from chappe.api.v1.base import actor_of
from chappe.api.v1.messaging import send_answer
from chappe.inbox import selectors
from chappe.inbox.schemas import AssignIn, ReplyIn, ThreadDetailOut, ThreadOut
from chappe.inbox.services import (
    conversation_assign,
    conversation_get,
    conversation_read,
    conversation_reply,
)
from chappe.messaging.schemas import SendOut
from chappe.time2chat.models import Declaration
from chappe.time2chat.schemas import DeclarationIn, DeclarationOut, T2cMessageIn
from chappe.time2chat.services import (
    t2c_declaration_end,
    t2c_declarations_csv,
    t2c_declare,
    t2c_send,
)

router = Router(tags=["conversations"])


@router.get("/conversations", response=list[ThreadOut])
def conversation_list(request: HttpRequest, channel: str | None = None,
                      unread: bool | None = None, unanswered: bool | None = None,
                      overdue: bool | None = None):
    """Threads per correspondent, most recent MO first, with their channel and markers:
    unread, unanswered, and `overdue` (RCS unanswered 72 h, M-15)."""
    actor = actor_of(request, Perm.MESSAGING_VIEW)
    now = timezone.now()
    return [selectors.thread_out(t, now) for t in selectors.thread_list(
        account=actor.account, channel=channel, unread=unread, unanswered=unanswered,
        overdue=overdue)]


@router.get("/conversations/{conversation_id}", response=ThreadDetailOut)
def conversation_read_one(request: HttpRequest, conversation_id: str):
    """One thread with its messages both ways; reading it marks it read."""
    actor = actor_of(request, Perm.MESSAGING_VIEW)
    conversation = conversation_read(actor=actor, conversation=conversation_get(
        account=actor.account, id=conversation_id))
    return {**selectors.thread_out(selectors.thread_get(conversation=conversation),
                                   timezone.now()),
            "messages": selectors.thread_messages(conversation=conversation)}


@router.post("/conversations/{conversation_id}/reply", response={201: SendOut})
def conversation_reply_post(request: HttpRequest, conversation_id: str, payload: ReplyIn):
    """Answer in the thread's channel (RCS: a text, or `content`)."""
    actor = actor_of(request)
    conversation = conversation_get(account=actor.account, id=conversation_id)
    content = payload.content.model_dump(mode="json") if payload.content else None
    outcome = conversation_reply(actor=actor, conversation=conversation, text=payload.text,
                                 content=content)
    return Status(201, send_answer(outcome))


@router.post("/conversations/{conversation_id}/assign", response=ThreadOut)
def conversation_assign_post(request: HttpRequest, conversation_id: str, payload: AssignIn):
    actor = actor_of(request)
    conversation = conversation_assign(
        actor=actor, conversation=conversation_get(account=actor.account, id=conversation_id),
        user_id=payload.user_id)
    return selectors.thread_out(selectors.thread_get(conversation=conversation),
                                timezone.now())


@router.get("/time2chat/declarations", response=list[DeclarationOut], tags=["time2chat"])
def declaration_list(request: HttpRequest):
    actor = actor_of(request, Perm.MESSAGING_VIEW)
    return Declaration.objects.filter(account=actor.account)


@router.get("/time2chat/declarations/export", response={200: None}, tags=["time2chat"])
def declaration_export(request: HttpRequest):
    """The declarations as CSV, as the operators take them."""
    actor = actor_of(request, Perm.MESSAGING_VIEW)
    response = HttpResponse(t2c_declarations_csv(Declaration.objects.filter(
        account=actor.account)), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="time2chat-declarations.csv"'
    return response


@router.post("/time2chat/declarations", response={201: DeclarationOut}, tags=["time2chat"])
def declaration_create(request: HttpRequest, payload: DeclarationIn):
    """Declare a rented 09 number (client name, SIRET, usage, contact): required before
    it sends."""
    actor = actor_of(request)
    return Status(201, t2c_declare(actor=actor, account=actor.account, **payload.dict()))


@router.delete("/time2chat/declarations/{declaration_id}", response=DeclarationOut,
               tags=["time2chat"])
def declaration_end(request: HttpRequest, declaration_id: str):
    """End a declaration: the number is released into quarantine."""
    actor = actor_of(request)
    return t2c_declaration_end(actor=actor, account=actor.account, declaration_id=declaration_id)


@router.post("/time2chat/messages", response={200: SendOut, 201: SendOut}, tags=["time2chat"])
def t2c_message_create(request: HttpRequest, payload: T2cMessageIn,
                       idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    """A conversational SMS from a declared 09 number (M-14 billing: T2C MT price outside
    a session, free inside one, long texts by SMS segments)."""
    actor = actor_of(request)
    outcome = t2c_send(actor=actor, account=actor.account, idempotency_key=idempotency_key,
                       **payload.dict())
    return Status(200 if outcome.replayed else 201, send_answer(outcome))
