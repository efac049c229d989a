"""Answering-machine detection (chappe.voice.amd) on synthetic audio: espeak-ng speaking
a person's "Allô ?" and a machine's greeting, the simulator's greeting, silence."""

import pytest

from chappe.voice import amd
from chappe.voice.media.prompts import SAMPLE_RATE, tts_render, wav_pcm

SILENCE = b"\0\0" * SAMPLE_RATE


def speech(text: str, tmp_path) -> bytes:
    return wav_pcm(tts_render(text=text, language="fr", cache_dir=tmp_path))


def first_seconds(pcm: bytes, seconds: float = 2.5) -> bytes:
    return pcm[: int(seconds * SAMPLE_RATE) * 2]


@pytest.mark.parametrize("hello", ["Allô ?", "Oui ?", "Bonjour."])
def test_a_person_says_a_word_and_waits(tmp_path, hello):
    heard = first_seconds(speech(hello, tmp_path) + SILENCE * 3)
    assert amd.classify(heard) == amd.HUMAN


def test_a_machine_plays_a_long_greeting(tmp_path):
    greeting = speech("Bonjour, vous êtes bien sur le répondeur de Marie Dupont. Je ne suis "
                      "pas disponible pour le moment, laissez-moi un message après le bip.",
                      tmp_path)
    assert amd.classify(first_seconds(greeting)) == amd.MACHINE


def test_silence_and_too_little_are_unknown(tmp_path):
    assert amd.classify(SILENCE * 3) == amd.UNKNOWN
    assert amd.classify(b"") == amd.UNKNOWN
    # A word heard at the very end: no pause after it yet.
    assert amd.classify(SILENCE * 2 + first_seconds(speech("Allô ?", tmp_path), 0.4)) == \
        amd.UNKNOWN


def test_utterances_are_found_where_the_speech_is(tmp_path):
    word = speech("Allô ?", tmp_path)
    spans = amd.utterances(SILENCE + word + SILENCE)
    assert len(spans) == 1
    start, end = spans[0]
    assert 0.9 <= start <= 1.4
    assert end - start <= amd.MAX_GREETING
