"""Card payments go through a pluggable gateway (P-7); the platform never sees card data,
only an opaque token obtained by the client from the processor's own form.

Pick the implementation with the setting `CHAPPE_PAYMENT_GATEWAY` (a dotted path to a
class implementing `PaymentGateway`); the default is the `FakeGateway`, which is what the
tests and the embedded demo use.
"""

import hashlib
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class ChargeResult:
    ok: bool
    # The processor's charge id: the payment's reference (one payment per reference).
    reference: str
    message: str = ""


class PaymentGateway(Protocol):
    def charge(self, *, amount_micros: int, currency: str, token: str,
               idempotency_key: str, description: str) -> ChargeResult:
        """Charge the card behind `token`; the same idempotency key never charges twice."""
        ...


class FakeGateway:
    """Accepts every token except those starting with `decline`; deterministic ids."""

    def charge(self, *, amount_micros: int, currency: str, token: str,
               idempotency_key: str, description: str) -> ChargeResult:
        digest = hashlib.sha256(f"{idempotency_key}:{amount_micros}".encode()).hexdigest()
        if token.startswith("decline"):
            return ChargeResult(False, f"fake_declined_{digest[:16]}", "card declined")
        return ChargeResult(True, f"fake_ch_{digest[:24]}")


def payment_gateway() -> PaymentGateway:
    path = getattr(settings, "CHAPPE_PAYMENT_GATEWAY", "chappe.billing.gateways.FakeGateway")
    return import_string(path)()
