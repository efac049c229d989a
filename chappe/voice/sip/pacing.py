"""The media clock: one 20 ms tick for every call up, sending each one its next frame.

A call that is up sends RTP all the time, as a phone does: the next frame of the prompt
it plays, or a frame of silence while it waits for a digit, records a voicemail or
rings a transfer — carriers' session border controllers hang up a call whose media
stops (RTP timeouts of 30 to 60 s are common). A leg fed from elsewhere (the transfer
bridge relays the other leg's frames, paced by that leg's clock) gets silence only when
that feed stops for longer than `FILL_AFTER`.

One timer for all the calls, instead of a timer (and a wait on a stop event) per call and
per frame, which at a few hundred calls was most of the event loop's work. A tick more
than a frame late counts a late frame on each playback, and the frames due meanwhile go
out at once (as a sender catching up). Library-free: a leg is anything with `send_payload`
and the fields below (chappe.voice.sip.aiosipua_backend.AiortpLeg)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Protocol

from chappe.voice.sip.base import FRAME_BYTES, FRAME_MS, FRAME_SAMPLES

# A leg fed by someone else (a bridge) that sent nothing for this long gets silence.
FILL_AFTER = 0.05
SILENCE = b"\0" * FRAME_BYTES

# Prompts cut in 20 ms frames and encoded, by (payload type, PCM): the same few prompts
# are played to every caller, encoded once each.
_FRAMES: OrderedDict[tuple[int, bytes], tuple[bytes, ...]] = OrderedDict()
_FRAMES_KEPT = 64


class Codec(Protocol):
    def encode(self, pcm: bytes) -> bytes: ...


class PacedLeg(Protocol):
    payload_type: int
    codec_impl: Codec | None  # None once the media is gone
    # The loop time something other than silence was last sent (a bridge's frame, a digit).
    fed_at: float

    def send_payload(self, payload: bytes, late: bool = False) -> bool: ...


def frames(pcm: bytes, payload_type: int, codec: Codec) -> tuple[bytes, ...]:
    """`pcm` in 20 ms frames encoded by `codec` (G.711: a byte a sample), cached."""
    key = (payload_type, pcm)
    found = _FRAMES.get(key)
    if found is None:
        encoded = codec.encode(pcm + b"\0" * (-len(pcm) % FRAME_BYTES))
        found = tuple(encoded[i:i + FRAME_SAMPLES]
                      for i in range(0, len(encoded), FRAME_SAMPLES))
        _FRAMES[key] = found
        if len(_FRAMES) > _FRAMES_KEPT:
            _FRAMES.popitem(last=False)
    else:
        _FRAMES.move_to_end(key)
    return found


class _Playback:
    __slots__ = ("done", "frames", "index", "leg", "stop")

    def __init__(self, leg: PacedLeg, frames: tuple[bytes, ...], stop: asyncio.Event | None,
                 done: asyncio.Future) -> None:
        self.leg, self.frames, self.stop, self.done = leg, frames, stop, done
        self.index = 0


class Pacer:
    """See the module doc. `attach` a leg when its media starts, `detach` it when it
    ends; `play` sends frames on an attached (or any) leg."""

    def __init__(self) -> None:
        self._playbacks: list[_Playback] = []
        self._legs: set[PacedLeg] = set()
        self._silence: dict[int, bytes] = {}  # a frame of silence by payload type
        self._task: asyncio.Task | None = None

    def attach(self, leg: PacedLeg) -> None:
        self._legs.add(leg)
        self._start()

    def detach(self, leg: PacedLeg) -> None:
        self._legs.discard(leg)

    def play(self, leg: PacedLeg, frames: tuple[bytes, ...],
             stop: asyncio.Event | None) -> asyncio.Future:
        done = asyncio.get_running_loop().create_future()
        if not frames:
            done.set_result(True)
            return done
        self._playbacks.append(_Playback(leg, frames, stop, done))
        self._start()
        return done

    def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        try:
            while self._playbacks or self._legs:
                due += FRAME_MS / 1000
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                late = delay < -FRAME_MS / 1000
                served = self._tick(late)
                self._fill(served, loop.time())
        finally:
            self._task = None

    def _tick(self, late: bool) -> set[PacedLeg]:
        """The next frame of each playback; returns the legs that sent one."""
        playing: list[_Playback] = []
        served: set[PacedLeg] = set()
        for playback in self._playbacks:
            if playback.done.done():  # the player was cancelled
                continue
            if playback.stop is not None and playback.stop.is_set():
                playback.done.set_result(False)
                continue
            if not playback.leg.send_payload(playback.frames[playback.index], late):
                playback.done.set_result(False)
                continue
            served.add(playback.leg)
            playback.index += 1
            if playback.index == len(playback.frames):
                playback.done.set_result(True)
            else:
                playing.append(playback)
        self._playbacks = playing
        return served

    def _fill(self, served: set[PacedLeg], now: float) -> None:
        """Silence on each attached leg that sent nothing this tick and is fed by nobody."""
        for leg in self._legs:
            if leg in served or now - leg.fed_at < FILL_AFTER:
                continue
            silence = self._silence.get(leg.payload_type)
            if silence is None:
                codec = leg.codec_impl
                if codec is None:
                    continue
                silence = self._silence[leg.payload_type] = codec.encode(SILENCE)
            leg.send_payload(silence)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for playback in self._playbacks:
            if not playback.done.done():
                playback.done.set_result(False)
        self._playbacks = []
        self._legs.clear()
