"""Prompts as 8 kHz mono 16-bit WAV: text-to-speech with espeak-ng (fr/en) resampled by
sox, cached by a hash of (text, language, voice); uploaded audio converted the same way.

    cache = prompts_dir(data_dir)                          # data_dir/voice/prompts
    path = tts_render(text="Bonjour", language="fr", cache_dir=cache)  # cache/<sha>.wav
    pcm = wav_pcm(path)                                    # 16-bit little-endian samples

The cache directory is given by the caller (the engine's directory, the web app's
“listen” button): this module reads no settings.
"""

import array
import hashlib
import math
import os
import shutil
import struct
import subprocess
import tempfile
import wave
from pathlib import Path

SAMPLE_RATE = 8000
# espeak-ng voices per language (`espeak-ng --voices`); the voice field may name another.
VOICES = {"fr": "fr", "en": "en"}
ENGINE_VERSION = "espeak-ng+sox/1"  # part of the cache key: a new renderer, new files


class PromptError(RuntimeError):
    """TTS or conversion failed (engine missing, bad audio)."""


def prompts_dir(data_dir: Path | str) -> Path:
    """Where rendered prompts are cached under a data dir."""
    return Path(data_dir) / "voice" / "prompts"


def tts_key(text: str, language: str, voice: str | None = None) -> str:
    raw = "\0".join([ENGINE_VERSION, language, voice or VOICES.get(language, language), text])
    return hashlib.sha256(raw.encode()).hexdigest()


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, check=True, capture_output=True, timeout=60, **kwargs)  # noqa: S603
    except FileNotFoundError as exc:
        raise PromptError(f"{command[0]} is not installed") from exc
    except subprocess.CalledProcessError as exc:
        raise PromptError(f"{command[0]} failed: {exc.stderr.decode(errors='replace')[:300]}") \
            from exc
    except subprocess.TimeoutExpired as exc:
        raise PromptError(f"{command[0]} timed out") from exc


def _sox_to_8k(source: Path | str, target: Path, *, input_type: str | None = None) -> None:
    """Convert to 8 kHz mono signed 16-bit WAV, atomically (write then rename)."""
    fd, tmp = tempfile.mkstemp(suffix=".wav", dir=target.parent)
    os.close(fd)
    try:
        _run(["sox", *(["-t", input_type] if input_type else []), str(source),
              "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer", tmp])
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def tts_render(*, text: str, language: str = "fr", voice: str | None = None,
               cache_dir: Path) -> Path:
    """The WAV of `text` in `cache_dir`, rendered once: later calls return the cached
    file."""
    if not text.strip():
        raise PromptError("empty text")
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / f"{tts_key(text, language, voice)}.wav"
    if target.exists():
        return target
    espeak_voice = voice or VOICES.get(language, language)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        # The text goes on stdin: never parsed as options, any length.
        _run(["espeak-ng", "-v", espeak_voice, "-s", "150", "-w", str(raw), "--stdin"],
             input=text.encode())
        _sox_to_8k(raw, target)
    return target


def audio_convert(*, source: Path, target: Path) -> Path:
    """Convert an uploaded audio file (WAV, MP3 if sox supports it, …) to 8 kHz mono."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _sox_to_8k(source, target)
    return target


def wav_pcm(path: Path) -> bytes:
    """The 16-bit samples of an 8 kHz mono WAV (as rendered here)."""
    with wave.open(str(path), "rb") as wav:
        if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (SAMPLE_RATE, 1, 2):
            raise PromptError(f"{path.name} is not 8 kHz mono 16-bit")
        return wav.readframes(wav.getnframes())


def wav_write(path: Path, pcm: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm)


def tone(frequency: float = 1000.0, milliseconds: int = 300, amplitude: int = 8000) -> bytes:
    """A sine beep as 16-bit PCM (the voicemail beep)."""
    count = SAMPLE_RATE * milliseconds // 1000
    return b"".join(struct.pack("<h", int(amplitude * math.sin(2 * math.pi * frequency * i
                                                                / SAMPLE_RATE)))
                    for i in range(count))


def tools_available() -> bool:
    return bool(shutil.which("espeak-ng") and shutil.which("sox"))


def rms(pcm: bytes) -> float:
    """Root mean square of 16-bit samples, 0..1 (0: silence)."""
    samples = array.array("h", pcm[: len(pcm) // 2 * 2])
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples)) / 32768
