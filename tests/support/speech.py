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


# Five intents as an admin would write them, and what callers say: 8 answers per intent, none of them simply
# a configured phrase read out alone, plus answers that belong to no intent (they must fall back to keys).
INTENTS = {
    "legal": ["legal advice", "a lawyer", "a legal question", "court"],
    "housing": ["housing", "somewhere to live", "help with rent", "eviction"],
    "health": ["medical help", "i feel sick", "a doctor", "hospital"],
    "operator": ["an operator", "talk to a person", "a real person", "someone"],
    "message": ["leave a message", "voice mail", "record a message"],
}
SAID: list[tuple[str, str | None]] = [
    ("i need a lawyer please", "legal"), ("legal advice", "legal"), ("i have a legal question", "legal"),
    ("my case is in court", "legal"), ("can you give me legal advice", "legal"), ("i want a lawyer", "legal"),
    ("a question about the law", "legal"), ("legal help", "legal"),
    ("help with my rent", "housing"), ("housing", "housing"), ("i have nowhere to live", "housing"),
    ("i need somewhere to live", "housing"), ("they want to evict me", "housing"), ("eviction", "housing"),
    ("a housing problem", "housing"), ("i cannot pay the rent", "housing"),
    ("i feel sick", "health"), ("i need a doctor", "health"), ("medical help please", "health"),
    ("take me to the hospital", "health"), ("a doctor", "health"), ("i feel very sick", "health"),
    ("my health", "health"), ("medical", "health"),
    ("an operator", "operator"), ("talk to a person", "operator"), ("can i talk to someone", "operator"),
    ("a real person please", "operator"), ("let me speak to an operator", "operator"), ("person", "operator"),
    ("i want a real person", "operator"), ("someone please", "operator"),
    ("leave a message", "message"), ("i want to leave a message", "message"), ("voice mail", "message"),
    ("record a message", "message"), ("message", "message"), ("can i record a message", "message"),
    ("voicemail please", "message"), ("i will leave a message", "message"),
    ("what is the weather today", None), ("banana", None), ("hello", None), ("i like pizza", None),
]
