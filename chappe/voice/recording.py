"""Recording a bridged call (a queue that records its calls): each side's audio goes to a
file of its own as it comes, and when the call ends the two become one stereo WAV — the
caller on the left, the agent on the right — so that a review hears who said what.

Files, not memory: an hour of call is 115 MB of 16-bit PCM, and an engine bridges
hundreds of calls. The frames of each side are written in the order they came, with no
attempt to re-time them: both sides send 20 ms frames at their own clock, so the two
channels stay within a few frames of each other over a call (a side that stopped sending,
on hold or muted without comfort noise, shortens its channel: it is padded with silence at
the end)."""

from __future__ import annotations

import array
import os
import tempfile
import wave
from pathlib import Path

from chappe.voice.media.prompts import SAMPLE_RATE

CALLER, AGENT = 0, 1
CHUNK = SAMPLE_RATE * 2  # a second of 16-bit samples


class CallRecorder:
    """Collects a bridged call's audio (`frame`) and writes the stereo WAV (`finish`)."""

    def __init__(self, directory: Path | None = None) -> None:
        self._sides = [tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in finish
            dir=directory, prefix="chappe-call-", suffix=".pcm", delete=False)
            for _side in (CALLER, AGENT)]

    def frame(self, side: int, pcm: bytes) -> None:
        self._sides[side].write(pcm)

    def finish(self) -> Path | None:
        """The stereo WAV (a temporary file the caller moves or removes), or None when
        nothing was heard."""
        paths = [Path(f.name) for f in self._sides]
        for side in self._sides:
            side.close()
        try:
            if not any(p.stat().st_size for p in paths):
                return None
            fd, name = tempfile.mkstemp(prefix="chappe-call-", suffix=".wav",
                                        dir=paths[0].parent)
            os.close(fd)
            with paths[0].open("rb") as left, paths[1].open("rb") as right, \
                    wave.open(name, "wb") as out:
                out.setnchannels(2)
                out.setsampwidth(2)
                out.setframerate(SAMPLE_RATE)
                while True:
                    a, b = left.read(CHUNK), right.read(CHUNK)
                    if not a and not b:
                        break
                    out.writeframes(_interleaved(a, b))
            return Path(name)
        finally:
            for path in paths:
                path.unlink(missing_ok=True)


def _interleaved(left: bytes, right: bytes) -> bytes:
    """Two mono chunks of 16-bit samples as one stereo chunk, the shorter padded with
    silence."""
    a = array.array("h", left[: len(left) // 2 * 2])
    b = array.array("h", right[: len(right) // 2 * 2])
    count = max(len(a), len(b))
    a.extend([0] * (count - len(a)))
    b.extend([0] * (count - len(b)))
    out = array.array("h", bytes(4 * count))
    out[0::2] = a
    out[1::2] = b
    return out.tobytes()
