"""The RBM connector (decision 0056): capability lookups and agent messages sent to
Google's RCS Business Messaging REST API (or any server speaking it), every request
through `common.outbound_http` (the operator's network rules apply to a carrier too).

Receipts and user messages are not polled: RBM pushes them to our webhook
(`api.carriers_rbm`), which applies them at once; `poll()` has nothing to give.

A message is sent with our message id as RBM's `messageId`, so a resubmission after a
crash is answered 409 ALREADY_EXISTS by RBM: taken as sent, never sent twice.
"""

import json
import uuid
from datetime import datetime
from urllib.parse import quote, urlencode

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from chappe.carriers.base import ConnectionCheck, Outbound, PollResult, SubmitResult
from chappe.carriers.rbm.config import RbmConfig
from chappe.carriers.rbm.content import rbm_content
from chappe.carriers.rcs import RcsOutbound
from chappe.common import outbound_http

# Statuses after which the same request may succeed later.
RETRY_STATUSES = {408, 429, 500, 502, 503, 504}


class RbmConnector:
    Config = RbmConfig
    label = gettext_lazy("RCS Business Messaging (RBM) API")
    down = False
    carries_rcs = True

    def __init__(self, *, name: str, config: RbmConfig) -> None:
        self.name = name
        self.config = config
        self.root = str(config.base_url).rstrip("/") + "/v1/phones/"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config.secret('token')}",
                "Content-Type": "application/json"}

    def _url(self, recipient: str, tail: str, **query: str) -> str:
        return f"{self.root}{quote(recipient, safe='+')}/{tail}?{urlencode(query)}"

    def start(self, *, process: str) -> None:
        """Nothing kept open: each request is its own."""

    def stop(self) -> None:
        """Nothing to close."""

    def _capable(self, recipient: str, *, agent_id: str, timeout: float) -> bool | None:
        outcome = outbound_http.get(
            self._url(recipient, "capabilities", requestId=str(uuid.uuid4()), agentId=agent_id),
            headers=self._headers(), timeout=timeout)
        if outcome.status_code == 200:
            return True
        if outcome.status_code == 404:
            return False
        return None

    def test(self, *, timeout: float) -> ConnectionCheck:
        """A capability lookup of a test number: any answer of RBM's (even 404) proves
        the address and the token."""
        agent_id = next(iter(self.config.agents.values()))
        outcome = outbound_http.get(
            self._url("+33600000000", "capabilities", requestId=str(uuid.uuid4()),
                      agentId=agent_id), headers=self._headers(), timeout=timeout)
        if outcome.status_code in (200, 404):
            return ConnectionCheck(ok=True, detail=_("The RBM API answered."))
        return ConnectionCheck(ok=False, detail=_("The RBM API did not answer as expected: "
                                                  "%(what)s.") % {
            "what": outcome.failure or f"HTTP {outcome.status_code}"})

    def capabilities(self, recipients: list[str]) -> dict[str, bool]:
        agent_id = next(iter(self.config.agents.values()))
        answers = {r: self._capable(r, agent_id=agent_id, timeout=self.config.timeout_seconds)
                   for r in recipients}
        return {r: capable for r, capable in answers.items() if capable is not None}

    def submit(self, batch: list[Outbound]) -> list[SubmitResult]:
        """Plain SMS are not carried: each is refused (route SMS to another connector)."""
        return [SubmitResult(out.message_id, error_code="rcs_only") for out in batch]

    def submit_rich(self, batch: list[RcsOutbound]) -> list[SubmitResult]:
        return [self._send(out) for out in batch]

    def _send(self, out: RcsOutbound) -> SubmitResult:
        agent_id = self.config.agents.get(out.agent)
        if agent_id is None:
            return SubmitResult(out.message_id, error_code="rbm_unknown_agent")
        body = json.dumps({"contentMessage": rbm_content(out.content)}).encode()
        outcome = outbound_http.post(
            self._url(out.recipient, "agentMessages", messageId=out.message_id,
                      agentId=agent_id),
            content=body, headers=self._headers(), timeout=self.config.timeout_seconds)
        status = outcome.status_code
        if status in (200, 409):  # 409: this messageId was sent already
            return SubmitResult(out.message_id, carrier_message_id=out.message_id)
        if status == 404:  # RBM: the phone is not reachable over RCS
            return SubmitResult(out.message_id, error_code="rcs_not_capable")
        if status is None or status in RETRY_STATUSES:
            return SubmitResult(out.message_id, error_code=outcome.failure or f"rbm_{status}",
                                retry=True)
        return SubmitResult(out.message_id, error_code=f"rbm_{status}")

    def poll(self, now: datetime) -> PollResult:
        """RBM pushes receipts and replies to our webhook: nothing to collect."""
        return PollResult()

    def ack(self, matched: set[str], polled: PollResult) -> None:
        """Nothing polled, nothing to consume."""
