"""The browser softphone's signalling: a WebSocket at the web app's origin
(`/voice/agents/phone/socket`), authenticated by the user's Django session, relayed line
by line to the voice engine's control port on loopback (chappe.voice.browser; decision
0040). The web role adds what only it knows: who the agent is (the hello it signs with
the secret the engine shares) and, on an incoming call, the caller's contact from the
address book (the screen pop).

Plain ASGI (config/asgi.py routes the WebSocket here): the web role's uvicorn speaks
WebSocket already; nothing else is started."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from http.cookies import SimpleCookie
from types import SimpleNamespace
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from django.urls import reverse

from chappe.voice.browser import MAX_LINE, hello_sign, ice_servers_checked

logger = logging.getLogger("chappe.web.softphone")

PATH = "/voice/agents/phone/socket"
# Close codes the page explains (4000-4999: the application's own).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_AGENT = 4403
CLOSE_ENGINE = 4503


def _db(func):
    """`func` on Django's thread for sync code, its database connection closed after (as
    after a request: a WebSocket lasts hours, its few queries must not hold one)."""
    from django.db import connections

    def run(*args):
        try:
            return func(*args)
        finally:
            connections.close_all()

    return sync_to_async(run)


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _same_origin(headers: dict[str, str]) -> bool:
    """The page that opened the socket is ours (no cross-site WebSocket hijacking)."""
    origin = headers.get("origin", "")
    return bool(origin) and urlsplit(origin).netloc == headers.get("host", "")


def _agent_of_session(session_key: str):
    """(agent, account) of the signed-in user of `session_key`, or None."""
    from django.contrib.auth import get_user
    from django.utils.module_loading import import_string

    from chappe.accounts.actor import Actor
    from chappe.accounts.roles import Perm
    from chappe.agents.models import Agent
    from chappe.common.errors import ChappeError

    store = import_string(settings.SESSION_ENGINE + ".SessionStore")
    user = get_user(SimpleNamespace(session=store(session_key)))
    if not user.is_authenticated or getattr(user, "account_id", None) is None:
        return None
    try:
        Actor(account=user.account, user=user).require(Perm.CALLS_HANDLE)
    except ChappeError:
        return None
    return Agent.objects.filter(user=user, account_id=user.account_id).first()


def _screen_pop(account_id: str, caller: str) -> dict:
    """What the incoming-call panel shows of the caller: their contact, when the number
    matches one in the address book."""
    from chappe.accounts.models import Account
    from chappe.contacts.selectors import contact_by_number

    account = Account.objects.filter(pk=account_id).first()
    # A caller's number without its "+" (as SIP carries it); an extension stays as is.
    number = f"+{caller}" if caller.isdigit() and len(caller) > 6 else caller
    contact = contact_by_number(account=account, number=number) if account else None
    if contact is None:
        return {"number": number}
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p) or number
    return {"number": number, "contact": name,
            "link": reverse("web:contact_edit", args=[contact.pk])}


def ice_servers() -> list[dict]:
    """The STUN/TURN servers the workspace's RTCPeerConnection gets (the engine's peers
    get the same: chappe.voice.browser.ice_servers_checked)."""
    return ice_servers_checked(settings.CHAPPE_WEBRTC_ICE_SERVERS)


def caller_ids(account_id: str) -> list[str]:
    """The account's numbers an agent's call may present (its active rentals)."""
    from chappe.accounts.models import Account
    from chappe.callcenter.models import RentalStatus
    from chappe.callcenter.selectors import rental_list

    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        return []
    return [r.number.e164 for r in rental_list(account=account, status=RentalStatus.ACTIVE)]


def _dial_check(account_id: str, number: str, caller_id: str) -> dict:
    """A dial request of the browser, checked: the number read as a phone would (national
    or international), the caller ID one of the account's numbers (the first when none is
    chosen). The engine gets only what passes here."""
    from django.utils.translation import gettext as _

    from chappe.common.numbers import dialled_e164

    e164 = dialled_e164(number.strip(), default_country=settings.CHAPPE_DEFAULT_COUNTRY)
    if not e164:
        return {"type": "dial_refused", "message": str(_("This is not a phone number."))}
    numbers = caller_ids(account_id)
    if not numbers:
        return {"type": "dial_refused",
                "message": str(_("The account has no number to call from."))}
    if caller_id and caller_id not in numbers:
        return {"type": "dial_refused",
                "message": str(_("Call from one of the account's numbers."))}
    return {"type": "dial", "number": e164, "caller_id": caller_id or numbers[0]}


async def softphone_socket(scope, receive, send) -> None:
    """One browser's softphone connection (module doc)."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    headers = _headers(scope)
    cookie = SimpleCookie(headers.get("cookie", ""))
    morsel = cookie.get(settings.SESSION_COOKIE_NAME)
    agent = None
    if morsel is not None and _same_origin(headers):
        agent = await _db(_agent_of_session)(morsel.value)
    if agent is None:
        await send({"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED})
        return
    try:
        reader, writer = await asyncio.open_connection(
            settings.CHAPPE_VOICE_CONTROL_HOST, settings.CHAPPE_VOICE_CONTROL_PORT,
            limit=MAX_LINE)
    except OSError as exc:
        logger.warning("softphone of agent %s: the voice engine is unreachable: %s",
                       agent.pk, exc)
        await send({"type": "websocket.close", "code": CLOSE_ENGINE})
        return
    await send({"type": "websocket.accept"})
    issued, nonce = int(time.time()), uuid.uuid4().hex
    hello = {"type": "hello", "agent_id": str(agent.pk), "account_id": str(agent.account_id),
             "session": nonce, "issued": issued, "label": agent.extension,
             "sig": hello_sign(settings.SECRET_KEY.encode(), agent_id=str(agent.pk),
                               account_id=str(agent.account_id),
                               session=f"{nonce}|{agent.extension}", issued=issued)}
    writer.write(json.dumps(hello).encode() + b"\n")
    account_id = str(agent.account_id)

    async def to_engine() -> None:
        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                return
            text = event.get("text")
            if text is None or len(text) > MAX_LINE:
                continue
            try:
                asked = json.loads(text)
            except ValueError:
                continue
            if not isinstance(asked, dict):
                continue
            if asked.get("type") == "dial":  # checked here: the engine trusts this line
                asked = await _db(_dial_check)(
                    account_id, str(asked.get("number", ""))[:40],
                    str(asked.get("caller_id", ""))[:40])
                if asked["type"] != "dial":
                    await send({"type": "websocket.send", "text": json.dumps(asked)})
                    continue
            text = json.dumps(asked)
            writer.write(text.replace("\n", " ").encode() + b"\n")
            await writer.drain()

    async def to_browser() -> None:
        while line := await reader.readline():
            try:
                out = json.loads(line)
            except ValueError:
                continue
            if out.get("type") in ("incoming", "connected"):
                out["caller_info"] = await _db(_screen_pop)(
                    account_id, str(out.get("caller", "")))
            await send({"type": "websocket.send", "text": json.dumps(out)})

    tasks = [asyncio.ensure_future(to_engine()), asyncio.ensure_future(to_browser())]
    engine_closed = False
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        engine_closed = tasks[1].done()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        writer.close()
        if engine_closed:
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": 1000})
