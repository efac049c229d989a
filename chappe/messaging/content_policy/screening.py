"""The content check inside acceptance (`messages_write`): one `Screening` per batch.

`check` gives the policy's finding on one message (cached per send, text and sender: a
campaign's identical texts are checked once); `record` writes, after the messages, what
the batch caught — a `PolicyHit` per send and finding, a `ContentReview` per held send,
the bypass flag — and nothing at all for a clean batch. The account's own facts (its
shortener permit, its registered senders) are read only when a finding needs them.
"""

import hashlib
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.audit.services import audit_record
from chappe.messaging.content_policy.cache import policy_current
from chappe.messaging.content_policy.models import (
    ContentReview,
    PolicyHit,
    RegisteredSender,
    ReviewStatus,
    ShortenerPermit,
)
from chappe.messaging.content_policy.policy import BLOCK, Finding
from chappe.messaging.lifecycle import MessageStatus


def bypass_window() -> timedelta:
    return timedelta(hours=settings.CHAPPE_POLICY_BYPASS_HOURS)


class Screening:
    def __init__(self, *, account: Account, authorised: Collection[str], now: datetime):
        self.account, self.authorised, self.now = account, authorised, now
        self.policy = policy_current()
        self._verdicts: dict[tuple, Finding | None] = {}
        self._permit: bool | None = None
        self._registered: dict[str, frozenset[str]] = {}
        # Per send id: its findings with the text and sender they were on.
        self.caught: dict[Any, dict[Finding, tuple[str, str]]] = {}

    def _shorteners_allowed(self) -> bool:
        if self._permit is None:
            self._permit = ShortenerPermit.objects.filter(account=self.account).exists()
        return self._permit

    def registered(self, country: str) -> frozenset[str]:
        """The senders registered in `country` for this account (or for all)."""
        if country not in self._registered:
            self._registered[country] = frozenset(RegisteredSender.objects.filter(
                Q(account=self.account) | Q(account__isnull=True), country=country)
                .values_list("name", flat=True))
        return self._registered[country]

    def check(self, *, send: Any, text: str, sender: str) -> Finding | None:
        key = (send.pk, text, sender)
        if key in self._verdicts:
            return self._verdicts[key]
        if getattr(send, "rcs_content", None):
            # An RCS message's links and words are in its cards and suggestions, and its
            # SMS fallback text goes out too: all of it is screened, not the summary line.
            text = "\n".join([text, *_strings_of(send.rcs_content), send.fallback_text])
        args = {"text": text, "sender": sender, "marketing": send.kind == "marketing",
                "advertiser": self.account.name, "own_brands": self.authorised}
        finding = self.policy.verdict(**args)
        if finding is not None and finding.code == "shortener" and self._shorteners_allowed():
            finding = self.policy.verdict(**args, shorteners_allowed=True)
        self._verdicts[key] = finding
        if finding is not None:
            self.caught.setdefault(send.pk, {}).setdefault(finding, (text, sender))
        return finding

    def record(self, *, answers: Sequence[Sequence[Any]], sends: Sequence[Any]) -> None:
        """What the batch caught (module doc); `answers` are `messages_write`'s, per send."""
        if not self.caught:
            return
        for send, in_send in zip(sends, answers, strict=True):
            findings = self.caught.get(send.pk)
            if not findings:
                continue
            held = sum(1 for a in in_send if a.status == MessageStatus.HELD)
            refused = sum(1 for a in in_send if a.status == "content_refused")
            for finding, (text, sender) in findings.items():
                self._hit(send=send, finding=finding, text=text, sender=sender,
                          messages=refused if finding.action == BLOCK else held)
            if held:  # a campaign's later chunks join the review of its first one
                review, created = ContentReview.objects.get_or_create(
                    send_id=send.pk, defaults={
                        "account": self.account, "created_at": self.now,
                        "reasons": [f.as_dict() for f in findings if f.action != BLOCK]})
                if not created and review.status != ReviewStatus.PENDING:
                    ContentReview.objects.filter(pk=review.pk).update(
                        status=ReviewStatus.PENDING, decided_by="", decided_at=None)

    def _hit(self, *, send: Any, finding: Finding, text: str, sender: str,
             messages: int) -> None:
        """A `PolicyHit`, flagged when the account was caught by the same rule with
        other texts or senders within the bypass window (settings): rewording a refused
        message until it passes is the attempt to get round the check M-11 names."""
        text_hash = hashlib.sha256(f"{sender}\n{text}".encode()).hexdigest()
        since = self.now - bypass_window()
        earlier = (PolicyHit.objects.filter(account=self.account, code=finding.code,
                                            created_at__gte=since)
                   .exclude(text_hash=text_hash).values("text_hash").distinct().count())
        flagged = earlier + 1 >= settings.CHAPPE_POLICY_BYPASS_ATTEMPTS
        hit = PolicyHit.objects.create(
            account=self.account, send_id=send.pk, code=finding.code,
            matched=finding.matched[:253], action=finding.action, sender=sender[:20],
            text_hash=text_hash, text=text, messages=messages, flagged=flagged,
            created_at=self.now)
        if flagged:
            audit_record(actor=Actor(account=self.account), account=self.account,
                         action="messaging.policy.bypass_suspected", target=hit,
                         details={"code": finding.code, "matched": finding.matched,
                                  "attempts": earlier + 1})


def _strings_of(value: Any) -> list[str]:
    """Every text inside a JSON value (an RCS content: texts, titles, URLs, postbacks)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [text for item in value for text in _strings_of(item)]
    return []
