"""The operator's lists as a `Policy`, kept per process (M-11 on the hot path).

Building the policy reads every list (thousands of blocked domains from a feed); a send
must not pay that. Each process keeps the policy it built with the `PolicyVersion` it
read, and looks at that one-row version again at most every `CHECK_EVERY` seconds: a
change made in the back-office reaches every web, SMPP and worker process within that
delay, and a send costs one dictionary look-up the rest of the time. A change made in
this process (a test, the back-office's own process) is seen at once (`policy_changed`
forgets the copy).
"""

import threading
import time
from dataclasses import dataclass

from django.db.models import F

from chappe.messaging.content_policy.brands import brands_of
from chappe.messaging.content_policy.models import (
    ContentRule,
    DomainKind,
    PolicyDomain,
    PolicyVersion,
    ProtectedBrand,
)
from chappe.messaging.content_policy.policy import PatternError, Policy, rule_of
from chappe.messaging.models import ProtectedSender

CHECK_EVERY = 1.0  # seconds


@dataclass
class _Held:
    policy: Policy | None = None
    checked_at: float = float("-inf")


_held = _Held()
_lock = threading.Lock()


def policy_version() -> int:
    return PolicyVersion.objects.values_list("version", flat=True).first() or 0


def policy_build(version: int) -> Policy:
    """The policy from the lists as they are now."""
    domains = PolicyDomain.objects.values_list("domain", "kind")
    rules = []
    for name, kind, value, action in ContentRule.objects.filter(active=True).values_list(
            "name", "kind", "value", "action"):
        try:
            rules.append(rule_of(name=name, kind=kind, value=value, action=action))
        except PatternError:
            continue  # refused when saved; a row written around the service is ignored
    names = [*ProtectedSender.objects.values_list("name", flat=True),
             *ProtectedBrand.objects.values_list("name", flat=True)]
    return Policy(
        version=version,
        blocked=frozenset(d for d, k in domains if k == DomainKind.BLOCKED),
        shorteners=frozenset(d for d, k in domains if k == DomainKind.SHORTENER),
        brands=brands_of(names), rules=tuple(rules))


def policy_current() -> Policy:
    """This process's copy of the policy, rebuilt when the version moved (module doc)."""
    now = time.monotonic()
    held = _held
    if held.policy is not None and now - held.checked_at < CHECK_EVERY:
        return held.policy
    with _lock:
        version = policy_version()
        if held.policy is None or held.policy.version != version:
            held.policy = policy_build(version)
        held.checked_at = now
        return held.policy


def policy_changed() -> None:
    """Bump the version (in the caller's transaction) and forget this process's copy."""
    updated = PolicyVersion.objects.filter(pk=1).update(version=F("version") + 1)
    if not updated:
        PolicyVersion.objects.get_or_create(pk=1, defaults={"version": 1})
    _held.policy = None
