"""The transfer bridge: relay two answered legs' media to each other (a B2BUA's media
path), through the engine interface only.

Each received frame is decoded by its leg and re-encoded by the other, so legs with
different codecs (PCMA one side, PCMU the other) bridge without more code, and the relay
is paced by the sender's own clock: nothing is buffered here. RFC 4733 telephone-events
(and SIP INFO digits) are relayed as telephone-events once the digit ends, with their
duration. Counters say how much went each way (the transfer tests and the call log read
them). A `tap` hears every frame too, with the side it came from (0: the caller, 1: the
callee): the call's recording (chappe.voice.recording).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chappe.voice.sip.base import MediaLeg


@dataclass
class Direction:
    frames: int = 0
    digits: str = ""


Tap = Callable[[int, bytes], None]


class Bridge:
    def __init__(self, caller: MediaLeg, callee: MediaLeg, *, tap: Tap | None = None) -> None:
        self.legs = (caller, callee)
        self.tap = tap
        self.to_callee, self.to_caller = Direction(), Direction()
        self.resume()

    def resume(self) -> None:
        """Relay again after `stop` (a call taken off hold), the counts going on."""
        caller, callee = self.legs
        self._wire(caller, callee, self.to_callee, 0, self.tap)
        self._wire(callee, caller, self.to_caller, 1, self.tap)

    @staticmethod
    def _wire(source: MediaLeg, target: MediaLeg, counts: Direction, side: int,
              tap: Tap | None) -> None:
        def audio(pcm: bytes) -> None:
            counts.frames += 1
            target.send_audio(pcm)
            if tap is not None:
                tap(side, pcm)

        def digit(key: str, duration_ms: int) -> None:
            counts.digits += key
            target.send_dtmf(key, duration_ms)

        source.set_audio_sink(audio)
        source.set_dtmf_handler(digit)

    def stop(self) -> None:
        for leg in self.legs:
            leg.set_audio_sink(None)
            leg.set_dtmf_handler(lambda _key, _duration: None)

    def stats(self) -> dict:
        return {"frames_to_callee": self.to_callee.frames,
                "frames_to_caller": self.to_caller.frames,
                "digits_to_callee": self.to_callee.digits,
                "digits_to_caller": self.to_caller.digits}
