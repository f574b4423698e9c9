"""Test signals for the DTMF receiver, shared by tests/integration/test_dtmf.py and bench/dtmf.py.

Signals are float arrays at full scale 1.0; `pcm()` turns them into the signed 16-bit bytes the detector eats.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

KEYPAD = ("123A", "456B", "789C", "*0#D")
ROW_HZ = {key: hz for keys, hz in zip(KEYPAD, (697, 770, 852, 941), strict=True) for key in keys}
COLUMN_HZ = {keys[i]: hz for keys in KEYPAD for i, hz in enumerate((1209, 1336, 1477, 1633))}
ALL_DIGITS = "123A456B789C*0#D"

SPEECH = [
    ("en", "Hello, you have reached the hotline. Please hold while we connect you to an operator."),
    ("en", "Press one for billing, two for technical support, or stay on the line to speak to someone."),
    ("en-us", "My account number is four five six seven, and I was charged twice last month."),
    ("ru", "Здравствуйте, вы позвонили на горячую линию. Пожалуйста, оставайтесь на линии."),
    ("ru", "Нажмите один, чтобы оставить сообщение, или ноль, чтобы связаться с оператором."),
    ("ru", "Спасибо за ваш звонок, ваше мнение очень важно для нас."),
]

# More voices for talk-off through the codecs: other languages, and espeak-ng pitches (-p) and speeds (-s) that
# put voiced harmonics elsewhere. The first gives a `*` through AMR-NB once the tones' share is lowered to 75 %
# (at 78 % it did in one rendering and not in another: docs/dtmf.md)
MORE_SPEECH = [
    ("en+f3", "Hmm, well, I am not sure, maybe you could call me back tomorrow morning at nine o'clock?", "-p 90"),
    ("en+f3", "I would like to speak to someone about my daughter, she has not come home since yesterday evening.",
     "-p 99 -s 140"),
    ("ru+f3", "Я хотела бы поговорить с кем-нибудь, мне очень тяжело в последнее время.", "-p 90"),
    ("de", "Guten Tag, ich möchte bitte mit einem Mitarbeiter sprechen, es ist sehr dringend.", "-p 40"),
    ("fr+f3", "Bonjour, je voudrais parler à quelqu'un, s'il vous plaît, c'est assez urgent.", "-p 99 -s 140"),
    ("es", "Hola, quisiera hablar con alguien, por favor, es bastante urgente.", "-s 220 -p 60"),
]


def tone(
    digit: str,
    ms: float,
    rate: int = 8000,
    level_db: float = -10.0,
    twist_db: float = 0.0,
    offset: float = 0.0,
    high_offset: float | None = None,
) -> np.ndarray:
    """One key press: each tone at level_db (dB relative to a full-scale sine), the high tone twist_db
    above the low one, the frequencies scaled by (1 + offset) (the high one by (1 + high_offset) if given)."""
    t = np.arange(round(rate * ms / 1000)) / rate
    high_hz = COLUMN_HZ[digit] * (1 + (offset if high_offset is None else high_offset))
    low = 10 ** (level_db / 20) * np.sin(2 * np.pi * ROW_HZ[digit] * (1 + offset) * t)
    high = 10 ** ((level_db + twist_db) / 20) * np.sin(2 * np.pi * high_hz * t + 1.0)
    return low + high


def silence(ms: float, rate: int = 8000) -> np.ndarray:
    return np.zeros(round(rate * ms / 1000))


def sequence(
    digits: str,
    tone_ms: float = 60,
    gap_ms: float = 60,
    rate: int = 8000,
    lead_ms: float = 100,
    **tone_args: float,
) -> np.ndarray:
    """Digits separated by gap_ms of silence, with lead_ms of silence before and after."""
    parts = [silence(lead_ms, rate)]
    for digit in digits:
        parts += [tone(digit, tone_ms, rate, **tone_args), silence(gap_ms, rate)]
    parts.append(silence(lead_ms, rate))
    return np.concatenate(parts)


def with_noise(signal: np.ndarray, snr_db: float, seed: int = 1) -> np.ndarray:
    """White noise snr_db below the mean power of the signal's non-silent samples."""
    loud = signal[np.abs(signal) > 0]
    power = float(np.mean(loud**2)) if loud.size else 1e-4
    noise = np.random.default_rng(seed).normal(0, np.sqrt(power / 10 ** (snr_db / 10)), signal.size)
    return signal + noise


def pcm(signal: np.ndarray) -> bytes:
    return (np.clip(signal, -1, 32767 / 32768) * 32768).round().astype("<i2").tobytes()


def resample(signal: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Linear interpolation: plenty for tones far below both Nyquist frequencies."""
    duration = signal.size / rate
    t_new = np.arange(round(duration * new_rate)) / new_rate
    return np.interp(t_new, np.arange(signal.size) / rate, signal)


def music(rate: int = 8000, seconds: float = 6.0, seed: int = 7) -> np.ndarray:
    """A synthetic piece: chords and a melody in equal temperament, notes with decaying harmonics.

    Many notes land near DTMF frequencies (F5 ≈ 698 Hz, G5 ≈ 784 Hz, A5 = 880 Hz, D6 ≈ 1175 Hz, E6 ≈ 1319 Hz,
    G#6 ≈ 1661 Hz), which is the point: a receiver must still not hear a key press in them.
    """
    rng = np.random.default_rng(seed)
    out = np.zeros(round(rate * seconds))
    step = 0.25
    for start in np.arange(0, seconds - step, step):
        # melody in the 600-1700 Hz region where the DTMF tones live; chords lower down
        notes = [int(rng.integers(75, 93))] + [
            int(n) for n in rng.choice(np.arange(48, 75), 3, replace=False)
        ]
        length = step * (2 if rng.random() < 0.3 else 1)
        t = np.arange(round(rate * min(length, seconds - start))) / rate
        envelope = np.minimum(1, t / 0.01) * np.exp(-t * 3)
        for note in notes:
            freq = 440 * 2 ** ((note - 69) / 12)
            harmonics = range(1, int(rate / 2 / freq))
            voice = sum(0.5**h * np.sin(2 * np.pi * freq * (h + 1) * t) for h in harmonics)
            first = round(start * rate)
            out[first : first + t.size] += 0.15 * envelope * voice
    return out


def two_note_music(rate: int = 8000) -> np.ndarray:
    """Sustained two-note chords with fundamentals right on DTMF pairs but an instrument's harmonics."""
    parts = []
    for low, high in ((698.5, 1318.5), (784.0, 1174.7), (880.0, 1396.9), (932.3, 1661.2)):
        t = np.arange(round(rate * 0.4)) / rate
        voice = sum(
            0.6**h * (np.sin(2 * np.pi * low * (h + 1) * t) + np.sin(2 * np.pi * high * (h + 1) * t))
            for h in range(4)
            if high * (h + 1) < rate / 2
        )
        parts += [0.2 * voice, silence(100, rate)]
    return np.concatenate(parts)


def speech(rate: int = 8000, sentences: list[tuple[str, ...]] | None = None) -> list[np.ndarray]:
    """The sentences (SPEECH unless given: voice, text and optionally espeak-ng options) spoken by espeak-ng,
    resampled by sox to rate (raises if either is missing)."""
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        raise FileNotFoundError("espeak-ng and sox are needed for the speech talk-off signals")
    with tempfile.TemporaryDirectory() as tmp:
        out = []
        for i, (voice, text, *options) in enumerate(SPEECH if sentences is None else sentences):
            spoken, resampled = Path(tmp, f"{i}.wav"), Path(tmp, f"{i}-{rate}.wav")
            subprocess.run(
                ["espeak-ng", "-v", voice, *" ".join(options).split(), "-w", str(spoken), text],
                check=True, capture_output=True,
            )
            subprocess.run(
                ["sox", str(spoken), "-r", str(rate), "-b", "16", str(resampled)],
                check=True,
                capture_output=True,
            )
            with wave.open(str(resampled), "rb") as wav:
                samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2") / 32768.0
            out.append(samples)
        return out


def write_wav(path: Path, signal: np.ndarray, rate: int = 8000, channels: int = 1, width: int = 2) -> Path:
    """A PCM WAV file of signal; for stereo the signal goes on the left channel and silence on the right."""
    if width == 2:
        mono = np.frombuffer(pcm(signal), dtype="<i2")
    else:
        mono = (np.clip(signal, -1, 127 / 128) * 128 + 128).round().astype(np.uint8)
    if channels == 2:
        right = np.zeros_like(mono) + (128 if width == 1 else 0)
        frames = np.column_stack((mono, right)).ravel()
    else:
        frames = mono
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(frames.tobytes())
    return path


CODECS = {"gsm": ("gsm", []), "amr": ("amr-nb", ["-C", "7"])}  # GSM 06.10 full rate; AMR-NB mode 7 = 12.2 kbit/s


def through_codec(signal: np.ndarray, codec: str) -> np.ndarray:
    """The signal as it comes out of a mobile codec (sox encodes and decodes both), same length and rate 8 kHz."""
    kind, options = CODECS[codec]
    if not shutil.which("sox"):
        raise FileNotFoundError("sox is needed to pass signals through the phone codecs")
    with tempfile.TemporaryDirectory() as tmp:
        clean, coded, back = Path(tmp, "in.wav"), Path(tmp, f"coded.{kind}"), Path(tmp, "out.wav")
        write_wav(clean, signal)
        subprocess.run(["sox", str(clean), *options, "-t", kind, str(coded)], check=True, capture_output=True)
        subprocess.run(["sox", "-t", kind, str(coded), "-r", "8000", "-b", "16", "-c", "1", str(back)],
                       check=True, capture_output=True)
        with wave.open(str(back), "rb") as wav:
            out = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2") / 32768.0
    return np.resize(out, signal.size) if out.size >= signal.size else np.pad(out, (0, signal.size - out.size))
