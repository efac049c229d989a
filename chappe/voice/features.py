"""Feature codes an agent dials from a registered phone: `*50` logs in or out, `*51`
pauses or unpauses (Asterisk's and Wazo's habit of star codes).

The INVITE is challenged like the phone's REGISTER (the same digest credentials,
`registrar.phone_authenticate`, the same throttle of failed attempts): only the agent's
own phone changes the agent's state. Once proven, the engine answers, the queue desk
applies the code (refusals — no free licence, a suspended service — come back as what to
say), the phone hears the outcome by TTS, and the call hangs up. Nothing is billed: no
carrier is involved."""

from __future__ import annotations

import logging
import time

from chappe.common.throttle import FailureThrottle
from chappe.voice.directory import AsyncQueueDesk, CallTarget, EngineDirectory, SipCredentials
from chappe.voice.registrar import phone_authenticate
from chappe.voice.sip.base import InboundCall, MediaRefused
from chappe.voice.sip.digest import REALM, DigestResult, challenge_header, nonce_issue

logger = logging.getLogger("chappe.voice.features")

FEATURE_CODES = frozenset({"*50", "*51"})


def is_feature_code(callee: str) -> bool:
    return callee in FEATURE_CODES


async def feature_call(call: InboundCall, directory: EngineDirectory, desk: AsyncQueueDesk, *,
                       secret: bytes, throttle: FailureThrottle) -> None:
    """Serve an INVITE to a feature code (module doc)."""
    address = call.source[0]
    if wait := throttle.retry_after(address):
        call.reject(503, "Too Many Failed Authentications", headers={"Retry-After": str(wait)})
        return
    now = time.time()
    found = await phone_authenticate(directory, call.authorization, method="INVITE",
                                     address=address, secret=secret, throttle=throttle, now=now)
    if found in (DigestResult.MISSING, DigestResult.STALE):
        call.reject(401, headers={"WWW-Authenticate": challenge_header(
            realm=REALM, nonce=nonce_issue(secret=secret, now=now),
            stale=found == DigestResult.STALE)})
        return
    if not isinstance(found, SipCredentials):
        logger.warning("feature code %s from %s: wrong digest credentials", call.callee,
                       call.source)
        call.reject(403)
        return
    prompt = await desk.feature_code(found.agent_id, call.callee)
    try:
        leg = await call.answer()
    except MediaRefused:
        await call.hangup()
        return
    pcm = await directory.prompt_pcm(CallTarget(account_id=found.account_id, e164="",
                                                definition=None), prompt)
    await leg.play(pcm)
    await call.hangup()
    logger.info("feature code %s dialled by agent %s", call.callee, found.agent_id)
