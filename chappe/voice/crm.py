"""CRM lookup on inbound calls (C-11, as Graam's "custom CRM" web service; decision 0042):
before an inbound call starts its flow, the engine asks the account's CRM who is calling.
The answer may name the caller (`caller_info`: `full_name`, `caller_profile_url`), give a
caller priority, and redirect the call — to a queue, an agent or a flow. It never holds a
call up: past the timeout (1.5 s by default), or on any error or an answer it cannot read,
the call goes on its normal route.

The engine knows no URL, key or database: the role that starts it hands it a `CrmLookup`
(chappe.callcenter.crm on the database; a fake in tests). This module only parses and
applies what a lookup gives."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, replace
from typing import Protocol

from chappe.voice.directory import CallTarget
from chappe.voice.flows import FlowDefinition

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 1.5
MAX_BODY = 64 * 1024
REDIRECT_KINDS = ("queue", "agent", "flow")


class CrmGarbage(ValueError):
    """The CRM answered something that is not the expected JSON."""


@dataclass(frozen=True)
class CallerInfo:
    full_name: str = ""
    caller_profile_url: str = ""


@dataclass(frozen=True)
class CrmReply:
    """What a CRM answered, checked: every part optional."""

    caller_info: CallerInfo | None = None
    priority: int | None = None
    redirect_kind: str = ""  # queue, agent, flow ("": none)
    redirect_to: str = ""  # the queue's, agent's or flow's id or name


@dataclass(frozen=True)
class CrmAnswer:
    """A reply resolved by the account's data: the redirect as a flow to run (None: the
    call's own flow)."""

    reply: CrmReply
    flow: FlowDefinition | None = None


def parse_reply(body: bytes) -> CrmReply:
    """The CRM's JSON answer, e.g. {"caller_info": {"full_name": "Ada Lovelace",
    "caller_profile_url": "https://crm.example/c/42"}, "priority": 5,
    "redirect": {"queue": "VIP"}} — an empty object is a valid "nothing to add"."""
    if len(body) > MAX_BODY:
        raise CrmGarbage("too long")
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise CrmGarbage("not JSON") from exc
    if not isinstance(data, dict):
        raise CrmGarbage("not an object")
    info = data.get("caller_info")
    caller = None
    if info is not None:
        if not isinstance(info, dict):
            raise CrmGarbage("caller_info")
        name, url = info.get("full_name") or "", info.get("caller_profile_url") or ""
        if not isinstance(name, str) or not isinstance(url, str):
            raise CrmGarbage("caller_info")
        if url and not url.startswith(("https://", "http://")):
            url = ""  # shown as a link to the agent: only a web address
        caller = CallerInfo(name[:200], url[:500])
    priority = data.get("priority")
    if priority is not None and (not isinstance(priority, int) or isinstance(priority, bool)
                                 or not 0 <= priority <= 100):
        raise CrmGarbage("priority")
    kind, to = "", ""
    redirect = data.get("redirect")
    if redirect:
        if not isinstance(redirect, dict) or len(redirect) != 1:
            raise CrmGarbage("redirect")
        [(kind, to)] = redirect.items()
        if kind not in REDIRECT_KINDS or not isinstance(to, str) or not to.strip():
            raise CrmGarbage("redirect")
        to = to.strip()[:100]
    return CrmReply(caller, priority, kind, to)


class CrmLookup(Protocol):
    async def lookup(self, target: CallTarget, remote_number: str) -> CrmAnswer | None:
        """The account's CRM's answer for a call from `remote_number` to `target`
        (None: no CRM set). May raise, or take long: `consult` bounds it."""
        ...

    def timeout_for(self, target: CallTarget) -> float: ...

    async def observe(self, target: CallTarget, outcome: str, seconds: float,
                      redirected: bool) -> None:
        """Log and count one lookup (ok, none, timeout, garbage, error…)."""
        ...


async def consult(crm: CrmLookup, target: CallTarget, remote_number: str, *,
                  clock=time.monotonic) -> CrmAnswer | None:
    """Ask, within the account's timeout; None on anything but a readable answer."""
    started = clock()
    outcome, answer = "ok", None
    try:
        answer = await asyncio.wait_for(crm.lookup(target, remote_number),
                                        timeout=crm.timeout_for(target))
        if answer is None:
            outcome = "none"
    except TimeoutError:
        outcome = "timeout"
    except CrmGarbage:
        outcome = "garbage"
    except Exception as exc:  # a CRM's failure never fails the call
        outcome = getattr(exc, "outcome", "")
        if not outcome:  # not a failure the lookup named: a bug, with its traceback
            logger.exception("CRM lookup for %s failed", target.e164)
            outcome = "error"
    try:
        await crm.observe(target, outcome, clock() - started,
                          redirected=answer is not None and answer.flow is not None)
    except Exception:
        logger.exception("CRM lookup not recorded")
    return answer


def route(target: CallTarget, answer: CrmAnswer | None) -> CallTarget:
    """The call's target after the CRM's answer: its redirect's flow, or unchanged."""
    if answer is None or answer.flow is None:
        return target
    return replace(target, definition=answer.flow)
