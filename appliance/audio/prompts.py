"""The prompt library: text and uploaded recordings turned into line-format audio, cached on disk.

Every prompt is made once (espeak-ng or sox run at config time, not while a caller waits) and kept
under a name derived from everything that shapes its sound, so a repeat request is a file lookup.
A file only appears in the cache when it is complete: work happens in a scratch directory inside
the cache and the finished file is moved in with os.replace. Its SHA-256 is kept beside it
(`<name>.raw.sha256`): a cached file that no longer matches (cut short by a power cut, damaged on the
card) is made again rather than played.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from appliance.audio.convert import (
    PIPELINE_VERSION,
    PromptError,
    duration,
    speak,
    to_line_format,
    voice_for,
    without_paths,
)
from appliance.digest import sha256
from appliance.diskspace import MB, free_space
from appliance.files import atomic_write

__all__ = ["PromptDiskFull", "PromptError", "PromptLibrary", "pcm_file"]

log = logging.getLogger(__name__)

_BYTES_PER_SAMPLE = 2
FULL_BELOW = MB  # free bytes under which a failed prompt is blamed on the disk (a long prompt takes ~100 KB)


def pcm_file(path: Path) -> Path:
    """The prompt file, once it is known to be there and to hold whole 16-bit samples."""
    try:
        size = Path(path).stat().st_size
    except OSError as exc:
        raise PromptError(f"prompt file {Path(path).name!r} cannot be read: {exc.strerror}") from exc
    if size % _BYTES_PER_SAMPLE:
        raise PromptError(f"prompt file {Path(path).name!r} is not 16-bit PCM (odd length {size})")
    return Path(path)


class PromptDiskFull(PromptError):
    """The prompt is fine but the disk has no room to make it: no other prompt would fare better."""


def sniff(data: bytes) -> str | None:
    """The sox type of an upload from its first bytes; the file name's suffix is not trusted."""
    if data[:4] in (b"RIFF", b"RF64") and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"fLaC":
        return "flac"
    if data[:4] == b"OggS":
        return "ogg"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def _sum_path(dst: Path) -> Path:
    return dst.with_name(dst.name + ".sha256")


def _sha256(path: Path) -> str:
    return sha256(path.read_bytes()).hexdigest()


def _digest(*parts: bytes) -> str:
    h = sha256()
    for part in parts:
        # Length-prefixed so ("ab", "c") and ("a", "bc") cannot collide.
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()[:40]


class PromptLibrary:
    """Makes and caches prompts in the line format: raw S16LE mono at `rate`."""

    def __init__(self, cache_dir: str | Path, rate: int = 8000, *, max_upload_bytes: int = 20_000_000,
                 max_seconds: float = 600.0) -> None:
        if rate <= 0:
            raise ValueError(f"prompt rate must be positive, got {rate}")
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.rate = rate
        self.max_upload_bytes = max_upload_bytes
        self.max_seconds = max_seconds

    def from_text(self, text: str, lang: str, chosen: str | None = None) -> Path:
        """Speak `text` in `lang` with the `chosen` voice (speech/voices.py) where it can, else espeak-ng; returns
        the cached .raw file."""
        dst, voice, what = self._text_target(text, lang, chosen)
        if self._cached(dst):
            return dst
        with self._blame_a_full_disk(what), self._scratch() as work:
            wav = work / "speech.wav"
            if ":" in voice:
                from ..speech.voices import render

                try:
                    render(voice, text, self.cache_dir.parent / "voices", wav, what)
                except ValueError as exc:
                    raise PromptError(str(exc)) from None
            else:
                speak(text, voice, wav, what)
            self._finish(wav, "wav", dst, what, work)
        return dst

    def cached_text(self, text: str, lang: str, chosen: str | None = None) -> Path | None:
        """The cached .raw file from_text would return, or None where it is still to be made (nothing is run)."""
        dst = self._text_target(text, lang, chosen)[0]
        return dst if self._cached(dst) else None

    def _text_target(self, text: str, lang: str, chosen: str | None) -> tuple[Path, str, str]:
        """(the cache file, the voice that speaks it, what it is called in a message)."""
        what = f"prompt text {text[:40]!r}"
        if not text.strip():
            raise PromptError("prompt text is empty")
        voice = voice_for(chosen.removeprefix("espeak-ng:") if chosen and chosen.startswith("espeak-ng:") else lang)
        if chosen is not None and not chosen.startswith("espeak-ng:"):
            from ..speech.voices import voices  # only a box whose prompts name such a voice looks for one

            ready = {v.id for v in voices(self.cache_dir.parent / "voices") if v.ready}
            if chosen in ready:
                voice = chosen
            else:  # espeak-ng is the fallback: the prompt is still made, in the voice every box has
                log.warning("voice %s cannot speak here (not installed or not uploaded): %s in espeak-ng", chosen,
                            what)
        key = _digest(b"text", PIPELINE_VERSION.encode(), str(self.rate).encode(), voice.encode(),
                      text.encode("utf-8"))
        return self.cache_dir / f"tts-{key}.raw", voice, what

    def from_upload(self, data: bytes, filename: str) -> Path:
        """Convert an uploaded WAV/MP3/OGG/FLAC recording; returns the cached .raw file."""
        dst, src_type, what = self._upload_target(data, filename)
        if self._cached(dst):
            return dst
        with self._blame_a_full_disk(what), self._scratch() as work:
            src = work / f"upload.{src_type}"
            src.write_bytes(data)
            # Checked before converting so a long file does not tie up the Pi's CPU for nothing.
            self._check_length(duration(src, what), what)
            self._finish(src, src_type, dst, what, work)
        return dst

    def cached_upload(self, data: bytes, filename: str) -> Path | None:
        """The cached .raw file from_upload would return, or None where it is still to be made."""
        dst = self._upload_target(data, filename)[0]
        return dst if self._cached(dst) else None

    def _upload_target(self, data: bytes, filename: str) -> tuple[Path, str, str]:
        """(the cache file, the recording's sox type, what it is called in a message)."""
        what = f"upload {filename!r}"
        if not data:
            raise PromptError(f"{what} is empty")
        if len(data) > self.max_upload_bytes:
            raise PromptError(f"{what} is {len(data)} bytes, more than the limit of {self.max_upload_bytes}")
        src_type = sniff(data)
        if src_type is None:
            raise PromptError(f"{what} is not a WAV, MP3, OGG or FLAC recording")
        key = _digest(b"upload", PIPELINE_VERSION.encode(), str(self.rate).encode(), data)
        return self.cache_dir / f"upload-{key}.raw", src_type, what

    def samples(self, path: Path) -> bytes:
        """The PCM bytes of a prompt made by this library."""
        try:
            return pcm_file(path).read_bytes()
        except OSError as exc:
            raise PromptError(f"prompt file {Path(path).name!r} cannot be read: {exc.strerror}") from exc

    def _check_length(self, seconds: float, what: str) -> None:
        """Refused past max_seconds; a file whose header under-states its length is cut at the limit while it is
        decoded, so its length is then "more than" rather than exact."""
        if seconds > self.max_seconds:
            raise PromptError(f"{what} lasts {seconds:.1f} s or more, more than the limit of {self.max_seconds:g} s")

    def _finish(self, src: Path, src_type: str, dst: Path, what: str, work: Path) -> None:
        out = work / "line.raw"
        to_line_format(src, out, self.rate, what, src_type, max_seconds=self.max_seconds)
        size = out.stat().st_size
        if size == 0:
            raise PromptError(f"{what} is silent: nothing is left after trimming silence")
        self._check_length(size / _BYTES_PER_SAMPLE / self.rate, what)
        from .loudness import normalise  # made in the prompt maker's child: the daemon only looks prompts up

        out.write_bytes(normalise(out.read_bytes(), self.rate))  # every prompt at one speech level (loudness.py)
        os.replace(out, dst)
        atomic_write(_sum_path(dst), _sha256(dst) + "\n", mode=0o644)

    def _cached(self, dst: Path) -> bool:
        """A cached prompt is used only when its checksum matches: a truncated or damaged one is made again."""
        try:
            expected = _sum_path(dst).read_text(encoding="ascii").strip()
            if _sha256(dst) == expected:
                return True
        except FileNotFoundError:
            if not dst.exists():
                return False
        except OSError:
            pass
        log.warning("cached prompt %s is damaged or unchecked: making it again", dst.name)
        dst.unlink(missing_ok=True)
        _sum_path(dst).unlink(missing_ok=True)
        return False

    @contextmanager
    def _blame_a_full_disk(self, what: str) -> Iterator[None]:
        """On a full disk the tools write truncated files ("silent", "not a WAV"): name the disk instead."""
        try:
            yield
        except (PromptError, OSError) as exc:
            free, total = free_space(self.cache_dir)
            if free >= FULL_BELOW:
                raise
            raise PromptDiskFull(f"{what} cannot be made: the disk holding the prompt cache is full ({free // 1024} KB "
                                 f"free of {total // MB} MB); free some space ({without_paths(str(exc))})") from exc

    @contextmanager
    def _scratch(self) -> Iterator[Path]:
        import tempfile  # prompts are made in the prompt maker's child: the daemon only looks them up

        # Inside the cache directory so os.replace stays on one filesystem and is atomic.
        with tempfile.TemporaryDirectory(prefix=".work-", dir=self.cache_dir) as work:
            yield Path(work)
