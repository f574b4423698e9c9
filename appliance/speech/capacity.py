"""Whether this box can afford speech recognition: free memory, cores and an engine, judged without loading one."""

from __future__ import annotations

import os
from pathlib import Path

from appliance.core.lean import lean

# What the worker costs at its peak (bench/speech.py, docs/speech.md): pocketsphinx's grammar search ~45 MB,
# its language model for voicemail ~110 MB; a small Vosk model ~150 MB.
MIN_CORES = 2  # one core answers calls; a single-core board would stutter prompts while a caller is heard


@lean(frozen=True)
class Verdict:
    on: bool
    why: str


def mem_available_mb(meminfo: Path = Path("/proc/meminfo")) -> float | None:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def judge(engine: str, min_free_mb: float, *, free_mb: float | None = None, cores: int | None = None,
          engines: list[str] | None = None) -> Verdict:
    """Speech on or off on this box, and why, in an admin's words (status, alarms, `hotline check`)."""
    if engine == "off":
        return Verdict(False, "switched off in the config ([speech] engine = \"off\")")
    if engines is None:
        from .engines import available  # the engines' module (and hashlib) only on a box that asks for speech

        engines = available()
    if not engines:
        return Verdict(False, "no speech engine installed (pip install pocketsphinx)")
    cores = (os.cpu_count() or 1) if cores is None else cores
    if cores < MIN_CORES:
        return Verdict(False, f"{cores} CPU core: speech needs {MIN_CORES}")
    free_mb = mem_available_mb() if free_mb is None else free_mb
    if free_mb is not None and free_mb < min_free_mb:
        return Verdict(False, f"only {free_mb:.0f} MB of memory free, speech needs {min_free_mb:.0f} MB "
                              "([speech] min_free_mb)")
    return Verdict(True, f"on ({', '.join(engines)})")
