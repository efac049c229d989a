"""The web role's side of the engine's command port (chappe.voice.control; decision
0047): one signed command, one answer, over a loopback TCP connection — the engine's
answer turned into the one error vocabulary (chappe.common.errors)."""

import json
import logging
import socket
import time
import uuid
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from chappe.common.errors import ChappeError, Conflict, NotFound, ValidationFailed
from chappe.voice.control import command_line

logger = logging.getLogger("chappe.callcenter.engine_control")

# Seconds the engine has to answer (a transfer waits for its target to be read).
ANSWER_TIMEOUT = 15.0
# The longest answer read.
MAX_ANSWER = 64 * 1024


class EngineUnavailable(ChappeError):
    status = 503
    code = "voice_engine_unavailable"


def engine_command(body: dict[str, Any]) -> dict[str, Any]:
    """Send `body` (its `op`, `account_id` and arguments) to the voice engine; its
    answer's fields, or the error it names (404 unknown call, 409 ended or refused, 503
    engine unreachable)."""
    line = command_line(settings.SECRET_KEY.encode(), body, issued=int(time.time()),
                        nonce=uuid.uuid4().hex)
    address = (settings.CHAPPE_VOICE_CONTROL_HOST, settings.CHAPPE_VOICE_CONTROL_PORT)
    try:
        with socket.create_connection(address, timeout=ANSWER_TIMEOUT) as sock:
            sock.sendall(line)
            answer = sock.makefile("rb").readline(MAX_ANSWER)
    except OSError as exc:
        logger.warning("voice engine at %s:%s unreachable: %s", *address, exc)
        raise EngineUnavailable(_("The voice engine cannot be reached.")) from exc
    try:
        reply = json.loads(answer)
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        raise EngineUnavailable(_("The voice engine gave no answer."))
    if reply.get("ok"):
        return reply
    error = reply.get("error")
    if error == "not_found":
        raise NotFound(_("No such call in this account."))
    if error == "ended":
        raise Conflict(_("The call has ended."), code="call_ended")
    if error == "conflict":
        raise Conflict(str(reply.get("message", "")) or None, code="call_refused")
    if error == "bad_request":
        raise ValidationFailed(details={"engine": [str(reply.get("message", ""))]})
    raise EngineUnavailable(_("The voice engine refused the command."))
