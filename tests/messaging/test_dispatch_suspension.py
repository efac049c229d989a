"""P-8 at send time: the waiting SMS of a suspended account or messaging service are not
sent; they wait, and leave when the suspension is lifted."""

import pytest

from chappe.accounts.models import ServiceKind
from chappe.accounts.services import (
    account_reactivate,
    account_suspend,
    service_reactivate,
    service_suspend,
)
from chappe.carriers.models import SimulatorMessage
from chappe.messaging.models import Message
from chappe.messaging.services.dispatch import dispatch_batch, messaging_held_accounts
from tests.billing.conftest import OPERATOR
from tests.messaging.test_pipeline import DELIVERED, send


def _dispatch(simulator) -> None:
    connectors, routes = simulator
    dispatch_batch(worker="test", connectors=connectors, routes=routes)


@pytest.mark.parametrize("what", ["account", "service"])
def test_suspended_messages_wait_and_resume(funded_account, other_account, buy_credits,
                                            simulator, what):
    buy_credits(other_account, "10")
    send(funded_account, [DELIVERED])
    send(other_account, ["+33600000011"])
    if what == "account":
        account_suspend(actor=OPERATOR, account=funded_account, reason="non_payment")
    else:
        service = funded_account.services.get(kind=ServiceKind.MESSAGING)
        service_suspend(actor=OPERATOR, service=service, reason="breach")

    _dispatch(simulator)

    # The other account's message left; the suspended one's waits, untouched.
    assert list(SimulatorMessage.objects.values_list("recipient", flat=True)) == [
        "+33600000011"]
    waiting = Message.objects.get(account=funded_account)
    assert waiting.status == "queued"
    assert waiting.attempts == 0

    if what == "account":
        account_reactivate(actor=OPERATOR, account=funded_account)
    else:
        service_reactivate(actor=OPERATOR, service=service)
    _dispatch(simulator)
    waiting.refresh_from_db()
    assert waiting.status in ("sent", "delivered")
    assert SimulatorMessage.objects.filter(recipient=DELIVERED).count() == 1


def test_sub_accounts_of_a_suspended_account_are_held(make_account, account):
    child = make_account("Child", parent=account)
    grandchild = make_account("Grandchild", parent=child)
    make_account("Unrelated")
    assert messaging_held_accounts() == set()
    account_suspend(actor=OPERATOR, account=account, reason="legal_order")
    assert messaging_held_accounts() == {account.pk, child.pk, grandchild.pk}
