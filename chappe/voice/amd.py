"""Answering-machine detection (issue 18; decision 0055): a heuristic on the first
seconds of audio after the answer, the cadence of speech as the classic AMDs read it
(Asterisk's AMD application): a person says a short word ("Allô ?") and waits for the
caller; a machine plays a long greeting without waiting. Pure: 8 kHz 16-bit mono PCM in,
`human`, `machine` or `unknown` out.

The audio is cut into 20 ms frames marked as voice when their level is over a threshold
relative to the loudest frame (and an absolute floor: line noise is not voice); a run of
voice frames bridged by gaps shorter than a word pause makes an utterance.

* **machine**: an utterance longer than `MAX_GREETING` (1.5 s spoken without a pause of
  `SILENCE_AFTER_GREETING`), or more than `MAX_WORDS` utterances before any such pause;
* **human**: a first utterance of at most `MAX_GREETING`, then silence of at least
  `SILENCE_AFTER_GREETING` (the person waits);
* **unknown**: nothing said, or too little heard to tell (the campaign treats it as a
  person: an agent takes it).
"""

import array
import math

SAMPLE_RATE = 8000
FRAME = SAMPLE_RATE // 50  # 20 ms
HUMAN, MACHINE, UNKNOWN = "human", "machine", "unknown"
MIN_LEVEL = 0.01  # RMS below this is silence, whatever the loudest frame
RELATIVE_LEVEL = 0.15  # of the loudest frame's RMS
WORD_PAUSE = 0.25  # seconds: gaps shorter than this are inside an utterance
MAX_GREETING = 1.5  # seconds a person's first word lasts at most
SILENCE_AFTER_GREETING = 0.8  # seconds a person then waits
MAX_WORDS = 3


def _levels(pcm: bytes) -> list[float]:
    samples = array.array("h", pcm[: len(pcm) // 2 * 2])
    levels = []
    for start in range(0, len(samples) - FRAME + 1, FRAME):
        frame = samples[start:start + FRAME]
        levels.append(math.sqrt(sum(s * s for s in frame) / FRAME) / 32768)
    return levels


def utterances(pcm: bytes) -> list[tuple[float, float]]:
    """(start, end) in seconds of each stretch of speech."""
    levels = _levels(pcm)
    if not levels:
        return []
    threshold = max(MIN_LEVEL, max(levels) * RELATIVE_LEVEL)
    spans: list[list[float]] = []
    for index, level in enumerate(levels):
        if level < threshold:
            continue
        at = index * FRAME / SAMPLE_RATE
        if spans and at - spans[-1][1] <= WORD_PAUSE:
            spans[-1][1] = at + FRAME / SAMPLE_RATE
        else:
            spans.append([at, at + FRAME / SAMPLE_RATE])
    return [(start, end) for start, end in spans]


def classify(pcm: bytes) -> str:
    """human, machine or unknown, from the first seconds heard after the answer."""
    heard = len(pcm) / 2 / SAMPLE_RATE
    spans = utterances(pcm)
    if not spans:
        return UNKNOWN
    for index, (start, end) in enumerate(spans):
        if end - start > MAX_GREETING or index >= MAX_WORDS:
            return MACHINE
        following = spans[index + 1][0] if index + 1 < len(spans) else heard
        if following - end >= SILENCE_AFTER_GREETING:
            return HUMAN
    return UNKNOWN
