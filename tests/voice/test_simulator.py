"""The built-in voice carrier simulator (chappe.voice.simulator): real SIP over loopback,
a test number for each outcome, and the demo's trunk pointing at it — so the demo's TTS
voice messages are delivered out of the box (they all failed with 503 "no trunk")."""

import time
from decimal import Decimal

import pytest
from django.db import OperationalError

from chappe.callcenter.models import Trunk
from chappe.messaging.models import Message
from chappe.runtime.demo import demo_setup
from chappe.voice.simulator import VoiceCarrierSimulator
from tests.conftest import ApiClient
from tests.ports import free_port
from tests.voice.sipp_tools import SIPP_TESTS, EngineThread

pytestmark = SIPP_TESTS

FINAL = ("delivered", "undelivered", "rejected", "expired")
# About 1.5 s, played three times: longer than +33600000106 stays on the line.
TEXT = "Votre colis arrive demain matin."


def wait_final(count: int, timeout: float = 40.0) -> dict[str, Message]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            messages = list(Message.objects.filter(channel="tts").prefetch_related("events"))
        except OperationalError:  # SQLite's shared in-memory test database, mid-write
            messages = []
        if len(messages) == count and all(m.status in FINAL for m in messages):
            return {m.recipient: m for m in messages}
        time.sleep(0.1)
    raise AssertionError("the voice messages never ended")


def outcome(message: Message) -> tuple[str, str, str]:
    return message.status, message.error_code, message.history()[-1].detail


@pytest.fixture
def simulator_in(transactional_db):
    """The simulator started on an engine's event loop (short rings)."""

    def start(engine: EngineThread, port: int) -> VoiceCarrierSimulator:
        simulator = VoiceCarrierSimulator("127.0.0.1", port, rtp_ports=(38000, 38198),
                                          ring_seconds=0.2, no_answer_after=0.5)
        engine.run(simulator.start())
        return simulator

    return start


def test_each_test_number_forces_its_outcome(data_dir, account, api, buy_credits,
                                             simulator_in):
    buy_credits(account, Decimal("10"))
    numbers = [f"+3360000010{n}" for n in range(1, 7)]
    response = api.post("/api/v1/voice-messages", {"recipients": numbers, "text": TEXT,
                                                    "repeat": 3})
    assert response.status_code == 201, response.content
    port = free_port()
    Trunk.objects.create(name="sim", host="127.0.0.1", port=port)
    with EngineThread() as engine:
        simulator = simulator_in(engine, port)
        engine.engine.dialer_poll = 0.2
        try:
            messages = wait_final(len(numbers))
        finally:
            engine.run(simulator.stop())
    assert {number: outcome(message) for number, message in messages.items()} == {
        "+33600000101": ("delivered", "", "listened"),
        "+33600000102": ("undelivered", "sip_486", "busy"),
        "+33600000103": ("undelivered", "sip_480", "no_answer"),
        "+33600000104": ("delivered", "", "listened"),  # the machine recorded it all
        "+33600000105": ("undelivered", "sip_603", "failed"),
        "+33600000106": ("delivered", "", "answered"),  # hung up before the end
    }
    heard = {call.callee: call for call in simulator.calls}
    assert heard["+33600000101"].audio_bytes > 3 * 16000  # the message, three times
    assert heard["+33600000104"].answered_at is not None


def test_the_demo_trunk_calls_the_simulator_and_its_voice_messages_are_delivered(
        data_dir, settings, simulator_in):
    settings.CHAPPE_SIP_SIM_PORT = free_port()
    demo = demo_setup()
    assert demo_setup().api_key == demo.api_key  # idempotent: one trunk
    [trunk] = Trunk.objects.all()
    assert (trunk.name, trunk.host, trunk.port) == ("simulator", "127.0.0.1",
                                                    settings.CHAPPE_SIP_SIM_PORT)
    response = ApiClient(demo.api_key).post("/api/v1/voice-messages", {
        "recipients": ["+33600000101"], "text": "Bienvenue chez Chappe."})
    assert response.status_code == 201, response.content
    with EngineThread() as engine:
        simulator = simulator_in(engine, settings.CHAPPE_SIP_SIM_PORT)
        engine.engine.dialer_poll = 0.2
        try:
            [message] = wait_final(1).values()
        finally:
            engine.run(simulator.stop())
    assert outcome(message) == ("delivered", "", "listened")


def test_the_simulator_listens_where_it_is_told(transactional_db):
    """`chappe sip-sim` parses its port (and the default is CHAPPE_SIP_SIM_PORT)."""
    from chappe.runtime.cli import build_parser

    port = free_port()
    args = build_parser().parse_args(["sip-sim", "--port", str(port), "--stay-up"])
    assert (args.port, args.stay_up, args.func.__name__) == (port, True, "_cmd_sip_sim")
