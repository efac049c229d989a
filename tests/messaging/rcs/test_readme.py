"""The README's RCS and Time2Chat examples, run as written (only the port is this test's)
against a live server, the demo key file in place; then what they promise, in the
database."""

import pytest

from chappe.messaging.models import Message
from tests.api.compat.conftest import funded, raw_key  # noqa: F401
from tests.api.compat.test_readme import _frozen, demo_dir, run_example  # noqa: F401
from tests.time2chat.conftest import declaration, t2c_rental  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def funded_account(funded):  # noqa: F811
    return funded


def test_rcs_example(live_server, demo_dir, launched_agent):  # noqa: F811
    result = run_example("rcs", live_server, demo_dir)
    assert '"accepted": 2' in result.stdout
    messages = Message.objects.filter(channel="rcs")
    assert {m.recipient for m in messages} == {"+33600000205", "+33600000202"}
    assert messages[0].send.rcs_content["cards"][0]["suggestions"][0]["postback_data"] == "red"
    assert messages[0].send.fallback_text == "New shoes: https://example.com"


def test_time2chat_example(live_server, demo_dir, declaration):  # noqa: F811
    result = run_example("time2chat", live_server, demo_dir)
    assert '"accepted": 1' in result.stdout
    message = Message.objects.get()
    assert (message.sender, message.price_micros) == ("+33939000001", 40_000)
