"""The conversation inbox (SMS replies, Time2Chat, RCS: threads, markers, answer in the
same channel, assignment) and the RCS composer with its live phone-style preview."""

import json
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import User
from chappe.accounts.roles import Perm
from chappe.common.errors import ChappeError, ValidationFailed
from chappe.inbox import selectors
from chappe.inbox.services import (
    conversation_assign,
    conversation_get,
    conversation_read,
    conversation_reply,
)
from chappe.messaging.rcs.models import AgentStatus, RcsAgent
from chappe.messaging.rcs.send import rcs_send
from chappe.web.auth import REFUSALS, account_view

EXAMPLE_CONTENT = {"type": "carousel", "cards": [
    {"title": "Red shoes", "description": "39 EUR",
     "media": {"file_url": "https://example.com/red.png", "height": "medium"},
     "suggestions": [{"type": "reply", "text": "I want them", "postback_data": "red"}]},
    {"title": "Blue shoes", "description": "45 EUR",
     "suggestions": [{"type": "open_url", "text": "See more", "url": "https://example.com/blue"}]},
]}


@account_view(Perm.MESSAGING_VIEW)
def inbox_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    channel = request.GET.get("channel") or None
    flag = request.GET.get("show") or ""
    threads = selectors.thread_list(
        account=actor.account, channel=channel,
        unread=True if flag == "unread" else None,
        unanswered=True if flag == "unanswered" else None,
        overdue=True if flag == "overdue" else None)
    now = timezone.now()
    return render(request, "web/inbox.html", {
        "threads": [selectors.thread_out(t, now) for t in threads],
        "channel": channel or "", "show": flag})


@account_view(Perm.MESSAGING_VIEW)
def inbox_thread(request: HttpRequest, actor: Actor, conversation_id: UUID) -> HttpResponse:
    conversation = conversation_get(account=actor.account, id=conversation_id)
    error = ""
    if request.method == "POST":
        try:
            if "assign" in request.POST:
                conversation_assign(actor=actor, conversation=conversation,
                                    user_id=request.POST.get("user_id") or None)
            else:
                conversation_reply(actor=actor, conversation=conversation,
                                   text=request.POST.get("text", ""))
        except REFUSALS:
            raise
        except ChappeError as exc:
            error = " ".join([str(exc.message), *(
                str(m) for ms in (exc.details or {}).values() if isinstance(ms, list)
                for m in ms)])
        else:
            return redirect("web:inbox_thread", conversation_id=conversation.pk)
    conversation = conversation_read(actor=actor, conversation=conversation)
    thread = selectors.thread_out(selectors.thread_get(conversation=conversation),
                                  timezone.now())
    return render(request, "web/inbox_thread.html", {
        "thread": thread, "conversation": conversation, "error": error,
        "messages_list": selectors.thread_messages(conversation=conversation),
        "users": User.objects.filter(account=actor.account, is_active=True)})


@account_view(Perm.MESSAGING_SEND)
def rcs_compose(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Compose an RCS message: the content as JSON, previewed live on a phone."""
    agents = RcsAgent.objects.filter(account=actor.account, status=AgentStatus.LAUNCHED)
    values = {"content": json.dumps(EXAMPLE_CONTENT, indent=2), "recipients": "",
              "fallback_text": "", "agent": str(agents[0].pk) if agents else ""}
    errors: list[str] = []
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in values}
        try:
            content = json.loads(values["content"])
        except ValueError:
            errors.append(_("The content is not valid JSON."))
        else:
            try:
                outcome = rcs_send(
                    actor=actor, account=actor.account, agent_id=values["agent"],
                    recipients=[r for r in values["recipients"].replace(",", "\n").split()
                                if r], content=content,
                    fallback_text=values["fallback_text"].strip())
            except REFUSALS:
                raise
            except ValidationFailed as exc:
                errors += [f"{field}: {msg}" for field, msgs in (exc.details or {}).items()
                           for msg in (msgs if isinstance(msgs, list) else [msgs])] or [
                    str(exc.message)]
            except ChappeError as exc:
                errors.append(str(exc.message))
            else:
                return redirect("web:sms_send_result", send_id=outcome.send.pk)
    return render(request, "web/rcs_compose.html", {"agents": agents, "values": values,
                                                    "errors": errors})
