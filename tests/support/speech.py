"""A caller's voice for speech tests: espeak-ng, resampled to the line's 8 kHz and passed through a phone codec.

GSM 06.10 full rate (what a 2G voice call carries, sox's `gsm` format) is the narrowest path a caller's
words take to the box, so a phrase recognised from it is recognised from a real call's audio at least as well.
"""

from __future__ import annotations

import functools
import subprocess

RATE = 8000


@functools.lru_cache(maxsize=256)
def phone_speech(text: str, voice: str = "en-us", speed: int = 160) -> bytes:
    """S16LE mono at 8 kHz: `text` spoken by espeak-ng, as the box hears it after a GSM call."""
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
                         capture_output=True, check=True, timeout=30).stdout
    gsm = subprocess.run(["sox", "-D", "-t", "wav", "-", "-r", str(RATE), "-c", "1", "-t", "gsm", "-"],
                         input=wav, capture_output=True, check=True, timeout=30).stdout
    return subprocess.run(["sox", "-D", "-t", "gsm", "-r", str(RATE), "-c", "1", "-", "-t", "raw", "-e", "signed",
                           "-b", "16", "-"], input=gsm, capture_output=True, check=True, timeout=30).stdout
