"""What the SIP stack keeps of a call is dropped once the call is over: refused INVITEs by
RFC 3261 Timer H (never ACKed) or Timer I (ACKed), calls the engine hung up at once.
Short timers keep the tests short; they wait on the engine's state, not on a clock."""

from django.conf import settings

from chappe.voice.sip.transactions import SipTimers
from tests.voice.sipp_tools import SIPP_TESTS, EngineThread, scenario, sipp, wait_for_records

pytestmark = SIPP_TESTS

SHORT = {"start": "w", "nodes": {"w": {"type": "play",
                                       "prompt": {"text": "Au revoir.", "language": "fr"}}}}
UNKNOWN = "+33100000000"
# Timer H = 64 T1 = 3.2 s; Timer I = T4 = 0.5 s.
TIMERS = SipTimers(t1=0.05, t2=1.0, t4=0.5)


def sip_state(endpoint) -> dict[str, int]:
    """How many calls and transactions the endpoint and aiosipua hold."""
    return {"calls": len(endpoint._calls),
            "stack_calls": sum(len(uas._calls) for uas in endpoint._uases),
            "server_transactions": sum(len(uas.transactions._server)
                                       for uas in endpoint._uases),
            "refused": len(endpoint.refused)}


EMPTY = {"calls": 0, "stack_calls": 0, "server_transactions": 0, "refused": 0}


def test_invites_never_acked_are_forgotten_after_timer_h(number_with):
    number_with(SHORT)
    with EngineThread() as engine:
        endpoint = engine.engine.endpoint
        endpoint.refused.timers = TIMERS
        kept = []
        add = endpoint.refused.add

        def counted(key, **kwargs):
            kept.append(key)
            add(key, **kwargs)

        endpoint.refused.add = counted
        result = sipp(engine.port, *scenario("invite_no_ack.xml", settings.DATA_DIR,
                                             status="404"),
                      "-r", "300", cwd=settings.DATA_DIR, number=UNKNOWN, calls=3000,
                      timeout=60)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        # Each refusal was kept for its timers (chappe.voice.sip.transactions)…
        assert engine.wait_until(lambda: len(kept) == 3000, timeout=30) is True, len(kept)
        # …and nothing is left once Timer H fired for the last one.
        assert engine.wait_until(lambda: sip_state(endpoint) == EMPTY, timeout=60) is True, \
            engine.run(_state(endpoint))


def test_an_acked_refusal_is_forgotten_after_timer_i(number_with):
    number_with(SHORT)
    with EngineThread() as engine:
        endpoint = engine.engine.endpoint
        endpoint.refused.timers = TIMERS
        result = sipp(engine.port, *scenario(
            "offer_refused.xml", settings.DATA_DIR, status="404",
            media="m=audio [auto_media_port] RTP/AVP 8\n      a=rtpmap:8 PCMA/8000"),
            cwd=settings.DATA_DIR, number=UNKNOWN, calls=20)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        assert engine.wait_until(lambda: sip_state(endpoint) == EMPTY) is True, \
            engine.run(_state(endpoint))


def test_calls_the_engine_hung_up_leave_nothing_behind(number_with):
    account = number_with(SHORT)
    with EngineThread() as engine:
        endpoint = engine.engine.endpoint
        result = sipp(engine.port, *scenario("engine_hangs_up.xml"), "-r", "10",
                      cwd=settings.DATA_DIR, calls=20, timeout=40)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        wait_for_records(account, 20, timeout=20)
        assert engine.wait_until(lambda: sip_state(endpoint) == EMPTY) is True, \
            engine.run(_state(endpoint))


async def _state(endpoint) -> dict[str, int]:
    return sip_state(endpoint)
