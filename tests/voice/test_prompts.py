"""TTS prompts with the real espeak-ng and sox (chappe.voice.media.prompts)."""

import subprocess
import wave

import pytest

from chappe.voice.media.prompts import (
    PromptError,
    audio_convert,
    prompts_dir,
    rms,
    tone,
    tts_key,
    tts_render,
    wav_pcm,
)

pytestmark = pytest.mark.tools("espeak-ng", "sox")


@pytest.fixture
def cache(data_dir):
    return prompts_dir(data_dir)


def _format(path):
    with wave.open(str(path), "rb") as wav:
        return wav.getframerate(), wav.getnchannels(), wav.getsampwidth(), wav.getnframes()


@pytest.mark.parametrize(("text", "language"), [
    ("Bonjour, bienvenue chez Chappe. Tapez un pour laisser un message.", "fr"),
    ("Hello, welcome to Chappe. Press one to leave a message.", "en"),
])
def test_tts_renders_8khz_mono_16bit_speech(text, language, cache):
    path = tts_render(text=text, language=language, cache_dir=cache)
    rate, channels, width, frames = _format(path)
    assert (rate, channels, width) == (8000, 1, 2)
    assert 1.5 < frames / rate < 10  # a sentence, not a click nor a minute
    assert rms(wav_pcm(path)) > 0.01  # speech, not silence


def test_tts_is_cached_by_text_language_and_voice(data_dir, cache):
    first = tts_render(text="Au revoir", language="fr", cache_dir=cache)
    mtime = first.stat().st_mtime_ns
    assert tts_render(text="Au revoir", language="fr", cache_dir=cache) == first
    assert first.stat().st_mtime_ns == mtime  # not rendered again
    assert tts_render(text="Au revoir", language="en", cache_dir=cache) != first
    assert tts_render(text="Au revoir", language="fr", voice="fr-be", cache_dir=cache) != first
    assert len(list((data_dir / "voice" / "prompts").glob("*.wav"))) == 3
    assert tts_key("a", "fr") != tts_key("b", "fr")


def test_text_that_looks_like_options_is_spoken_not_parsed(cache):
    path = tts_render(text="--version -w /etc/passwd", language="en", cache_dir=cache)
    assert rms(wav_pcm(path)) > 0.01


def test_empty_text_is_refused(cache):
    with pytest.raises(PromptError):
        tts_render(text="  ", language="fr", cache_dir=cache)


def test_uploaded_audio_is_converted_to_8khz_mono(tmp_path):
    source = tmp_path / "upload.wav"
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", "-b", "16", str(source),
                    "synth", "1.5", "sine", "440"], check=True)
    target = audio_convert(source=source, target=tmp_path / "out" / "prompt.wav")
    rate, channels, width, frames = _format(target)
    assert (rate, channels, width) == (8000, 1, 2)
    assert abs(frames - 12000) < 10
    assert rms(wav_pcm(target)) > 0.1


def test_garbage_upload_is_refused(tmp_path):
    source = tmp_path / "upload.wav"
    source.write_bytes(b"not audio at all" * 10)
    with pytest.raises(PromptError, match="sox failed"):
        audio_convert(source=source, target=tmp_path / "x.wav")


def test_tone_and_rms():
    beep = tone(1000, 300)
    assert len(beep) == 2 * 2400
    assert 0.15 < rms(beep) < 0.2
    assert rms(b"\0\0" * 100) == 0
