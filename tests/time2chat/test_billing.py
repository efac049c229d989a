"""Time2Chat billing with a frozen clock (M-14): sessions end at midnight Europe/Paris of
the day of their first MO, every MO is billed, MTs inside a session are free, long MTs
are billed by segments without a session."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from chappe.accounts.actor import SYSTEM
from chappe.billing.models import UsageRecord
from chappe.carriers.base import Inbound
from chappe.messaging.models import Message, Reply
from chappe.messaging.services.replies import inbound_receive
from chappe.time2chat.models import Session
from chappe.time2chat.services import session_end, t2c_mo_record, t2c_number_owner, t2c_send
from tests.time2chat.conftest import NUMBER

PARIS = ZoneInfo("Europe/Paris")
CUSTOMER = "+33612345678"
MICROS = Decimal(1_000_000)


def mo(at: datetime, text: str = "Hello") -> Reply:
    with time_machine.travel(at, tick=False):
        [reply] = inbound_receive(
            connector="sim", number_owner=t2c_number_owner, inbound=[Inbound(
                carrier_id=f"mo-{at.timestamp()}", from_number=CUSTOMER, to=NUMBER[1:],
                text=text, received_at=at)])
        t2c_mo_record(replies=[reply])
        return reply


def mt(account, at: datetime, text: str = "Thanks, on its way") -> Message:
    with time_machine.travel(at, tick=False):
        outcome = t2c_send(actor=SYSTEM.on(account), account=account, number=NUMBER,
                           recipient=CUSTOMER, text=text)
    return Message.objects.get(pk=outcome.recipients[0].message.pk)


def billed(account, product) -> Decimal:
    records = UsageRecord.objects.filter(account=account, product=product)
    return sum((Decimal(r.amount_micros) for r in records), Decimal(0)) / MICROS


def test_first_mt_is_billed_at_the_t2c_price_and_sent_from_the_09_number(
        funded_account, declaration):
    message = mt(funded_account, datetime(2026, 3, 10, 9, 0, tzinfo=PARIS))
    assert (message.sender, message.channel, message.price_micros) == (NUMBER, "sms", 40_000)
    assert billed(funded_account, "t2c_mt") == Decimal("0.04")


def test_mo_at_235959_then_mt_at_midnight_is_billed(funded_account, declaration):
    reply = mo(datetime(2026, 3, 10, 23, 59, 59, tzinfo=PARIS))
    assert reply.account_id == funded_account.pk  # attributed to the number's owner
    inside = mt(funded_account, datetime(2026, 3, 10, 23, 59, 59, 500000, tzinfo=PARIS))
    after = mt(funded_account, datetime(2026, 3, 11, 0, 0, 0, tzinfo=PARIS))
    assert inside.price_micros == 0
    assert "free: inside Time2Chat session" in inside.history()[-1].detail
    assert after.price_micros == 40_000
    assert billed(funded_account, "t2c_session") == Decimal("0.08")
    assert billed(funded_account, "t2c_mt") == Decimal("0.04")


def test_two_mos_the_same_day_bill_two_sessions_on_one_window(funded_account, declaration):
    mo(datetime(2026, 3, 10, 9, 0, tzinfo=PARIS))
    mo(datetime(2026, 3, 10, 18, 0, tzinfo=PARIS))
    [session] = Session.objects.all()
    assert session.mo_count == 2
    assert session.ends_at == datetime(2026, 3, 11, 0, 0, tzinfo=PARIS)
    assert billed(funded_account, "t2c_session") == Decimal("0.16")
    mo(datetime(2026, 3, 11, 0, 0, tzinfo=PARIS))
    assert Session.objects.count() == 2


@pytest.mark.parametrize(("first_mo", "hours"), [
    (datetime(2026, 3, 29, 0, 30, tzinfo=PARIS), 22.5),   # spring forward: a 23 h day
    (datetime(2026, 10, 25, 0, 30, tzinfo=PARIS), 24.5),  # fall back: a 25 h day
    (datetime(2026, 3, 10, 0, 30, tzinfo=PARIS), 23.5),
])
def test_sessions_end_at_paris_midnight_on_dst_days(first_mo, hours):
    assert session_end(first_mo).astimezone(UTC) - first_mo.astimezone(UTC) == timedelta(
        hours=hours)
    assert session_end(first_mo).astimezone(PARIS).hour == 0


def test_a_long_mt_is_billed_by_segments_and_opens_no_session(funded_account, declaration):
    mo(datetime(2026, 3, 10, 9, 0, tzinfo=PARIS))
    long = mt(funded_account, datetime(2026, 3, 10, 9, 5, tzinfo=PARIS), text="x" * 161)
    assert long.segments == 2
    assert long.price_micros == 90_000  # two SMS segments at 0.045
    assert billed(funded_account, "sms") == Decimal("0.09")
    assert Session.objects.count() == 1


def test_a_number_not_declared_cannot_send(funded_account, t2c_rental):
    from chappe.common.errors import Conflict
    with pytest.raises(Conflict) as refused:
        t2c_send(actor=SYSTEM.on(funded_account), account=funded_account, number=NUMBER,
                 recipient=CUSTOMER, text="Hi")
    assert refused.value.code == "t2c_not_declared"
