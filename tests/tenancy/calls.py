"""Live calls behind /api/v1/live-calls/{live_call_id}/…: the voice engine holds them, so
the harness talks to a stand-in engine — the real command port (chappe.voice.control,
with the real `supervise` handler) on a loopback port, its registry holding one live call
per tenant on legs that do nothing (placed by the API: `GET /api/v1/live-calls` lists
it). The web role is pointed at it while the harness runs
(`CHAPPE_VOICE_CONTROL_PORT`), so another account's call id gets the engine's 404."""

import asyncio
import threading
from types import SimpleNamespace

from django.conf import settings

from chappe.voice.bridge import Bridge
from chappe.voice.control import CallControl, LiveCall, LiveCalls
from chappe.voice.registrations import Registrations
from chappe.voice.supervision import supervise_handler
from tests.tenancy import Tenant


class _Leg:
    """A media leg that sends and hears nothing."""

    def set_audio_sink(self, sink) -> None: ...

    def set_dtmf_handler(self, handler) -> None: ...

    def send_audio(self, pcm) -> None: ...

    def send_dtmf(self, digit, duration_ms) -> None: ...

    async def play(self, pcm, stop=None) -> bool:
        await asyncio.sleep(0.02)
        return True


class _Referrals:
    """An agent's phone that takes every transfer."""

    async def put(self, referral) -> None:
        referral.answer(200, "OK")


class _Engine:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.calls = LiveCalls()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.port = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(5)

    async def _start(self) -> int:
        control = CallControl(self.calls, secret=settings.SECRET_KEY.encode())
        control.handlers["supervise"] = supervise_handler(
            phones=None, registrations=Registrations(), calls=self.calls)

        async def serve(reader, writer) -> None:
            import json

            await control.serve(json.loads(await reader.readline()), writer)
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        return server.sockets[0].getsockname()[1]

    def add(self, account_id: str, call_id: str, origin: str = "api",
            agent_id: str = "00000000-0000-4000-8000-000000000000") -> None:
        async def add() -> None:
            leg = _Leg()
            agent_call = SimpleNamespace(leg=_Leg(), referrals=_Referrals())
            self.calls.add(LiveCall(call_id, account_id, agent_id, leg, agent_call,
                                    Bridge(leg, agent_call.leg), origin=origin))

        asyncio.run_coroutine_threadsafe(add(), self.loop).result(5)


_engine: _Engine | None = None


def seed(t: Tenant) -> None:
    global _engine
    if _engine is None:
        _engine = _Engine()
    settings.CHAPPE_VOICE_CONTROL_PORT = _engine.port
    call_id = f"live-{t.tag}"
    _engine.add(str(t.account.pk), call_id)
    t.objects["live_call_id"] = call_id
    t.markers.add(call_id)  # listed by GET /api/v1/live-calls (an API-placed call)


PATH_PARAMS = {"live_call_id": lambda t: [t.objects["live_call_id"]]}
BODY_OVERRIDES = {
    "POST /api/v1/live-calls/{live_call_id}/transfer": {"number": "+33612345678"},
    "POST /api/v1/live-calls/{live_call_id}/supervise": {"mode": "listen"},
}
