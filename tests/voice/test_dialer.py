"""The engine's dialer on a fake directory: it calls the voice messages it claims, sends
heartbeats for those whose calls are in flight (so their lease holds), and hands back
each outcome."""

import asyncio

from chappe.voice import outbound
from chappe.voice.directory import MessageCall
from chappe.voice.engine import VoiceEngine
from chappe.voice.flows import Prompt

CALL = MessageCall(id="m-1", account_id="acc", recipient="+33612345678", caller="anonymous",
                   prompt=Prompt(text="Bonjour"))


class FakeDirectory:
    def __init__(self) -> None:
        self.due = [CALL]
        self.extended: list[list[str]] = []
        self.finished = []
        self.prompt_asked = asyncio.Event()
        self.release = asyncio.Event()

    async def message_calls_claim(self):
        due, self.due = self.due, []
        return due

    async def message_calls_extend(self, calls):
        self.extended.append([call.id for call in calls])

    async def message_call_finish(self, call, end):
        self.finished.append((call.id, end.status))

    async def prompt_pcm(self, target, prompt):
        self.prompt_asked.set()
        await self.release.wait()  # the call is in flight until the test lets it go
        return b"\0\0" * 160

    async def routes(self, e164):
        return []

    async def resolve(self, callee, caller):
        return None

    async def finish(self, outcome):
        pass

    async def close(self):
        pass


def test_calls_in_flight_get_heartbeats_and_their_outcome_is_handed_back():
    async def scenario():
        directory = FakeDirectory()
        engine = VoiceEngine("127.0.0.1", 0, directory=directory, auth_secret=b"s",
                             dialer_poll=0.01, message_heartbeat=0.02)
        await engine.start()
        try:
            async with asyncio.timeout(5):
                await directory.prompt_asked.wait()
                while len(directory.extended) < 2:
                    await asyncio.sleep(0.01)
                assert directory.extended[0] == ["m-1"]
                directory.release.set()
                while not directory.finished:
                    await asyncio.sleep(0.01)
                beats = len(directory.extended)
                await asyncio.sleep(0.1)
        finally:
            await engine.stop()
        assert directory.finished == [("m-1", outbound.NO_ROUTE)]  # no trunk routes it
        assert len(directory.extended) == beats  # no heartbeat once it is over

    asyncio.run(scenario())


def test_an_outcome_that_could_not_be_written_is_written_again_not_left_to_the_lease():
    class Locked(FakeDirectory):
        failures = 2

        async def message_call_finish(self, call, end):
            if self.failures:
                self.failures -= 1
                raise RuntimeError("database table is locked")
            await super().message_call_finish(call, end)

    async def scenario():
        directory = Locked()
        directory.release.set()
        engine = VoiceEngine("127.0.0.1", 0, directory=directory, auth_secret=b"s",
                             dialer_poll=0.01)
        await engine.start()
        try:
            async with asyncio.timeout(5):
                while not directory.finished:
                    await asyncio.sleep(0.01)
        finally:
            await engine.stop()
        assert directory.finished == [("m-1", outbound.NO_ROUTE)]  # once, after two failures
        assert engine._in_flight == {}

    asyncio.run(scenario())
