"""The pure parts of the SIP edge: the refused INVITEs' timers (RFC 3261 §17.2.1) and
RFC 4733 digits, end bit or not. Timers run on the test's event loop with short values;
the tests wait on what happened, not on a clock."""

import asyncio

from chappe.voice.sip.telephone_events import TelephoneEvents
from chappe.voice.sip.transactions import RefusedInvites, SipTimers
from tests.voice.waiting import until

TIMERS = SipTimers(t1=0.01, t2=0.04, t4=0.05)  # Timer H = 0.64 s


def test_timer_g_resends_until_timer_h_forgets():
    async def scenario():
        sent, forgotten = [], []
        refused = RefusedInvites(TIMERS)
        refused.add(("a", 1), reliable=False, resend=lambda: sent.append(1),
                    forget=lambda: forgotten.append("a"))
        assert ("a", 1) in refused
        await until(lambda: forgotten)
        assert ("a", 1) not in refused
        # 0.01, 0.02, 0.04, then every 0.04 s within 0.64 s: about 17 times
        assert 10 <= len(sent) <= 20, len(sent)

    asyncio.run(scenario())


def test_an_ack_stops_the_resending_and_timer_i_forgets():
    async def scenario():
        sent, forgotten = [], []
        refused = RefusedInvites(TIMERS)
        refused.add(("a", 1), reliable=False, resend=lambda: sent.append(1),
                    forget=lambda: forgotten.append("a"))
        assert refused.acked(("a", 1), reliable=False)
        assert refused.retransmitted(("a", 1))  # absorbed: no resend once confirmed
        assert refused.acked(("a", 1), reliable=False)  # a retransmitted ACK, absorbed
        assert not refused.acked(("a", 2), reliable=False)  # another INVITE's ACK
        await until(lambda: forgotten)
        assert sent == []

    asyncio.run(scenario())


def test_a_retransmitted_invite_gets_the_response_again_and_tcp_needs_no_timer_g():
    async def scenario():
        sent, forgotten = [], []
        refused = RefusedInvites(TIMERS)
        refused.add(("a", 1), reliable=True, resend=lambda: sent.append(1),
                    forget=lambda: forgotten.append("a"))
        assert refused.retransmitted(("a", 1))
        assert not refused.retransmitted(("a", 2))  # the retry after a 401: a new INVITE
        assert sent == [1]
        refused.acked(("a", 1), reliable=True)  # Timer I is 0 over TCP
        await until(lambda: forgotten)

    asyncio.run(scenario())


def test_a_flood_keeps_at_most_the_limit():
    async def scenario():
        forgotten = []
        refused = RefusedInvites(TIMERS, limit=3)
        for n in range(5):
            refused.add((str(n), 1), reliable=True, resend=lambda: None,
                        forget=lambda n=n: forgotten.append(n))
        assert len(refused) == 3
        assert forgotten == [0, 1]
        refused.close()

    asyncio.run(scenario())


class FakeTimer:
    def __init__(self, callback) -> None:
        self.callback, self.cancelled = callback, False

    def cancel(self) -> None:
        self.cancelled = True


class FakeTimers:
    """`call_later` whose timers the test fires."""

    def __init__(self) -> None:
        self.pending: list[FakeTimer] = []

    def call_later(self, _delay, callback):
        timer = FakeTimer(callback)
        self.pending.append(timer)
        return timer

    def fire(self):
        pending, self.pending = self.pending, []
        for timer in pending:
            if not timer.cancelled:
                timer.callback()


def test_a_digit_counts_once_at_its_end_bit():
    digits, timers = [], FakeTimers()
    events = TelephoneEvents(lambda d, ms: digits.append((d, ms)), call_later=timers.call_later)
    for duration in (160, 320, 480):
        events.packet(timestamp=100, event=5, end=False, duration=duration)
    for _ in range(3):  # the end packet, sent three times
        events.packet(timestamp=100, event=5, end=True, duration=640)
    timers.fire()
    assert digits == [("5", 640)]


def test_a_digit_without_end_bit_counts_when_its_packets_stop():
    digits, timers = [], FakeTimers()
    events = TelephoneEvents(lambda d, ms: digits.append((d, ms)), call_later=timers.call_later)
    events.packet(timestamp=100, event=1, end=False, duration=160)
    events.packet(timestamp=100, event=1, end=False, duration=320)
    assert digits == []
    timers.fire()  # quiet for QUIET_SECONDS
    assert digits == [("1", 320)]
    events.packet(timestamp=100, event=1, end=True, duration=400)  # late end: no second digit
    assert digits == [("1", 320)]


def test_a_new_event_ends_the_one_before_it():
    digits, timers = [], FakeTimers()
    events = TelephoneEvents(lambda d, ms: digits.append(d), call_later=timers.call_later)
    events.packet(timestamp=100, event=1, end=False, duration=160)
    events.packet(timestamp=900, event=11, end=True, duration=160)
    assert digits == ["1", "#"]
