"""Software DTMF receiver for caller audio (ITU-T Q.24 figures), and the `hotline dtmf-decode` command.

How it decides, per frame of ~23.75 ms slid in steps of one sub-block (~4.75 ms):

* Each nominal tone is measured together with two guard frequencies 5 % below and above it (a rectangular
  window, one DFT bin per frequency).  A band counts only if its strongest of the twelve measurements is a
  nominal tone: a tone more than 2.5 % off is nearer a guard and is rejected, which puts the accept/reject
  boundary midway between Q.24's 1.5 % (must accept) and 3.5 % (must reject); the nearest bin still wins at
  697 Hz in a frame this short.  The frame is narrow at 1633 Hz, so a tone's power is read as the strongest
  of three bins at -1.5 %, 0 and +1.5 %.
* The two tones must carry most of the frame's energy (speech and music spread theirs): each tone's band
  energy, the frame's energy in the span of its three bins, which holds a tone anywhere within ±1.5 % and one
  whose level steps inside the frame (GSM 06.10 does at its own 20 ms frame edges).  They must stay within the
  twist limits, and the signal must be steady across all five sub-blocks, so a frame only passes when the tone
  fills it.  Two passing frames in a row, each a little steadier, confirm a digit (~28.5 ms of tone), or one
  whose sound lasts two sub-blocks more, before or after it (~33 ms in all): GSM 06.10 leaves a 40 ms key only
  20-30 ms of clean tone, often a single passing frame, but the sound lasts; 20 ms tones never fill a frame
  twice in a row nor last 33 ms.
* A held digit is released by three quiet sub-blocks (a gap of ~14 ms or more: a 40 ms pause always does,
  a 10 ms drop-out never does) or by ten frames in a row that no longer show it; released that way, without a
  pause, the same digit coming back is the same press (a codec's or a chord's wobble), not a new key.

The tone measurement (the transform, each frame's bin and tone powers, a tone's band energy) is
dtmf_tones.py; this module decides from it what is a key, and is the `hotline dtmf-decode` command.
numpy is imported lazily: the daemon imports this module on a Pi Zero and only pays for numpy when a line
actually needs the software receiver (then at start, see dtmf_engine.py).  DtmfBank holds the arithmetic for
any number of lines, so the daemon's one engine decides all lines' audio in one set of numpy calls;
DtmfDetector is one signal through it (`hotline dtmf-decode`, tests).
"""

from __future__ import annotations

import sys
from itertools import accumulate
from typing import TYPE_CHECKING

from .dtmf_tones import MAX_RATE, MIN_RATE, SUBBLOCKS, ToneMeter

if TYPE_CHECKING:
    import numpy

KEYS = ("123A", "456B", "789C", "*0#D")

MIN_TONE_POWER = 0.5 * 10 ** (-45 / 10)  # each tone at least -45 dB below a full-scale sine
# Twist limits: Q.24 asks a receiver to accept +4 dB (high tone above low) and -8 dB as the phone sends them,
# which common receivers (Asterisk, spandsp) take as their limits. At the receiver those limits lose keys sent at
# Q.24's own edge: noise moves a frame's twist by a decibel or two, and GSM 06.10 renders a 40 ms key sent at
# +4 dB at +7 to +13 dB, one at -8 dB down to -16 dB. At +4/-8, 40 ms keys through GSM were found 62 of 96 times,
# through AMR-NB 53 (docs/dtmf.md has the table); no digit in speech and music at these limits.
MAX_TWIST_DB = 10.0
MIN_TWIST_DB = -16.0
MIN_TWIST, MAX_TWIST = 10 ** (MIN_TWIST_DB / 10), 10 ** (MAX_TWIST_DB / 10)  # as power ratios
# The two tones' band energy as a share of the frame's: in frames passing every other rule, 40 ms keys through
# GSM 06.10 and AMR-NB reach >= 0.94 (a held-out noisy key through GSM 0.875-0.88: 0.89 lost it), speech and
# music <= 0.85; speech gives a digit at 0.83, a second DTMF-pair chord through GSM at 0.87 (docs/dtmf.md).
# By one bin (before: >= 0.8) a GSM key stayed under 0.79, speech reached 0.787.
MIN_TONE_SHARE = 0.875
# every sub-block carries at least this share of the frame's mean energy: GSM 06.10 changes a tone's level by
# 4-6 dB from one of its 20 ms frames to the next (its long-term predictor starts empty at a key's start)
MIN_STEADY = 0.2
# Two frames in a row confirm a key only if each is steadier: a 20 ms tone can spread over six sub-blocks with a
# fifth of the energy at each end, whose partly filled frames the band share (unlike one bin) lets pass; the
# one-frame rule below needs 33 ms of sound, which no 20 ms tone has.
MIN_STEADY_TWICE = 0.25
CONFIRM_FRAMES = 2
# One passing frame confirms a digit when the sound lasts LATE_BLOCKS sub-blocks more than the frame, before or
# after it (≥ 33 ms in all, each sub-block at least MIN_LASTING of the frame's mean energy): through GSM 06.10 a
# 40 ms key often passes in one frame only, as the codec bends its tones' pitch and level at its frame
# boundaries, but its sound lasts; a 20 ms tone never lasts that long.
LATE_BLOCKS = 2  # (the quietest of 5 + 2 sub-blocks is taken from two runs of 4 in DtmfBank._classify)
MIN_LASTING = 0.15
CARRY_BLOCKS = SUBBLOCKS - 1 + LATE_BLOCKS  # sub-blocks kept between batches: the last 7-block window
QUIET = 0.1  # a sub-block below a tenth of the digit's level counts as a pause
RELEASE_QUIET_BLOCKS = 3
RELEASE_FRAMES = 10


class DtmfFileError(ValueError):
    """A file given to decode_file cannot be read as PCM audio; the message names the file and the problem."""


class LineState:
    """One line's receiver state between batches: leftover samples, the last sub-blocks, the held key."""

    def __init__(self, hop: int) -> None:
        # the previous sub-blocks and the samples short of a whole one, as the line's own 16-bit bytes
        # (silence before the first): a batch skipped by the energy gate still leaves exactly what the next
        # batch's first frames need, and every line's samples are converted in one numpy call per batch
        self.carry = bytes(CARRY_BLOCKS * hop * 2)
        self.odd_byte = b""
        self.held = -1  # key codes are row * 4 + column; -1 is none
        self.held_level = 0.0
        self.spent = -1  # a key released with no pause after it: back without a pause, it is the same press
        self.candidate = -1
        self.candidate_frames = 0
        self.quiet_blocks = 0
        self.missing_frames = 0

    def take(self, pcm: bytes, hop: int) -> bytes:
        """The previous sub-blocks and this chunk's whole ones, as 16-bit bytes; b"" when no new sub-block."""
        data = self.carry + self.odd_byte + pcm
        self.odd_byte = data[len(data) - len(data) % 2:] if len(data) % 2 else b""
        block = hop * 2
        whole = (len(data) // block) * block
        if whole <= CARRY_BLOCKS * block:
            self.carry = data[:len(data) - len(self.odd_byte)]
            return b""
        self.carry = data[whole - CARRY_BLOCKS * block:len(data) - len(self.odd_byte)]
        return data[:whole]

    def track(self, codes: list[int], levels: list[float], newest_energy: list[float],
              lasting: list[int]) -> list[str]:
        # the common cases - nothing but silence or speech, or a key held down - need no frame-by-frame walk
        if self.held < 0 and self.spent < 0 and max(codes) < 0 and max(lasting) < 0:
            self.candidate, self.candidate_frames = -1, 0
            return []
        if (all(c == self.held for c in codes) and min(newest_energy) >= QUIET * self.held_level
                and set(lasting) <= {-1, self.held}):
            self.quiet_blocks = self.missing_frames = 0
            return []
        confirmed: list[str] = []
        for code, level, newest, lasted in zip(codes, levels, newest_energy, lasting, strict=True):
            if self.held >= 0 or self.spent >= 0:
                self.quiet_blocks = self.quiet_blocks + 1 if newest < QUIET * self.held_level else 0
                if self.quiet_blocks >= RELEASE_QUIET_BLOCKS:
                    self.held = self.spent = -1
            if self.held >= 0:
                self.missing_frames = 0 if code == self.held else self.missing_frames + 1
                if self.missing_frames >= RELEASE_FRAMES:
                    self.held, self.spent = -1, self.held
            if lasted >= 0 and lasted != self.held:
                # a frame in the window ending here passed and the sound fills the window: that alone confirms it
                code, self.candidate_frames = lasted, CONFIRM_FRAMES
            elif code < 0 or code == self.held:
                self.candidate, self.candidate_frames = -1, 0
                continue
            else:
                self.candidate_frames = self.candidate_frames + 1 if code == self.candidate else 1
            self.candidate = code
            if self.candidate_frames >= CONFIRM_FRAMES:
                # a new digit straight after another (no pause) is still a new key press; the same one back
                # without a pause is the same press
                if code != self.spent:
                    self.held_level = level
                    confirmed.append(KEYS[code // 4][code % 4])
                self.held, self.spent = code, -1
                self.quiet_blocks = self.missing_frames = 0
                self.candidate, self.candidate_frames = -1, 0
        return confirmed


class DtmfBank:
    """The receiver's arithmetic for any number of lines at once: one numpy pass per batch, not per line."""

    def __init__(self, rate: int = 8000) -> None:
        import numpy as np

        self._meter = ToneMeter(rate)  # checks the rate
        self.rate = rate
        self._np = np
        self.hop = self._meter.hop
        # the meter's energies are in the samples' own units
        min_power = MIN_TONE_POWER * self._meter.full_scale
        self._gate = min_power / 2
        self._min_magnitude = min_power**0.5
        # per key (row * 4 + column): the bins at -1.5 %, 0 and +1.5 % of its row tone, then of its column tone
        bins = self._meter.tone_bins
        self._key_bins = [bins[key // 4] + bins[4 + key % 4] for key in range(16)]
        # The key a frame shows by the strongest of each band's guards and nominals (0-11 each): row * 4 + column
        # where both are nominals (3 * tone + 1), -1 where either is a guard, which fails the power rule.
        self._key_of = np.array([[(row // 3) * 4 + column // 3 if row % 3 == 1 and column % 3 == 1 else -1
                                  for column in range(12)] for row in range(12)])
        # the frames that straddle two lines, for the line sizes of the last batch (the daemon's seldom change)
        self._straddling: tuple[tuple[int, ...], set[int]] = ((), set())

    def state(self) -> LineState:
        return LineState(self.hop)

    def detect(self, work: list[tuple[LineState, bytes]]) -> list[list[str]]:
        """Digits confirmed per (line state, chunk), all lines' sub-blocks in one set of numpy calls.

        The energy gate is exact, not a guess: a bin's power is at most twice the frame's mean energy
        (Cauchy-Schwarz), so a line whose sub-blocks all sit below half the minimum tone power cannot show
        a key in any frame, and its frames are neither transformed nor classified.
        """
        np = self._np
        hop = self.hop
        found: list[list[str]] = [[] for _ in work]
        taken = [(i, state, rows) for i, (state, pcm) in enumerate(work) if (rows := state.take(pcm, hop))]
        if not taken:
            return found
        # every line's sub-blocks converted at once: per-call overhead, not arithmetic, is the cost here
        blocks, energy = self._meter.sub_blocks(b"".join(rows for _, _, rows in taken))
        energies = energy.tolist()
        sizes = [len(rows) // (2 * hop) for _, _, rows in taken]
        starts = list(accumulate(sizes, initial=0))
        if min(energies) >= self._gate:  # every line talks (one look, not one per line)
            active = list(range(len(taken)))
        else:
            active = [k for k, (_, state, _) in enumerate(taken)
                      if state.held >= 0 or state.candidate >= 0
                      or max(energies[starts[k]:starts[k + 1]]) >= self._gate]
            for k, (_, state, _) in enumerate(taken):
                if k not in active:
                    state.candidate, state.candidate_frames = -1, 0
        if not active:
            return found
        heard = energies
        if len(active) < len(taken):
            blocks = np.concatenate([blocks[starts[k]:starts[k + 1]] for k in active])
            heard = [e for k in active for e in energies[starts[k]:starts[k + 1]]]
        # frames are classified at every position of the joined lines (slices, not gathers); the few that
        # straddle two lines are dropped at the power rule
        lines = tuple(sizes[k] for k in active)
        if lines != self._straddling[0]:
            self._straddling = lines, {end - back for end in accumulate(lines[:-1]) for back in range(1, SUBBLOCKS)}
        classified = self._classify(self._meter.transform(blocks), heard, self._straddling[1])
        if classified is None:  # no frame shows a key: every code is -1, and a level is read only with a key
            total = len(heard) - SUBBLOCKS + 1
            codes = lasting = [-1] * total
            levels = [0.0] * total
        else:
            codes, levels, lasting = classified
        at = 0  # where the line starts among the active lines' sub-blocks
        for k in active:
            i, state, _ = taken[k]
            size, start = sizes[k], starts[k]
            if classified is None and state.held < 0 and state.spent < 0:  # no key before or now: nothing to track
                state.candidate, state.candidate_frames = -1, 0
                at += size
                continue
            new = slice(at + LATE_BLOCKS, at + size - SUBBLOCKS + 1)  # the frames not judged in an earlier batch
            found[i] = state.track(codes[new], levels[new],
                                   energies[start + LATE_BLOCKS + SUBBLOCKS - 1:start + size],  # their newest
                                   lasting[at:at + size - SUBBLOCKS + 1 - LATE_BLOCKS])  # the windows ending there
            at += size
        return found

    def _classify(self, coeffs: numpy.ndarray, energies: list[float],
                  straddling: set[int]) -> tuple[list[int], list[float], list[int]] | None:
        """Per frame (every run of SUBBLOCKS sub-blocks): the key code it shows steadily enough to count towards
        two in a row (-1 for none) and its mean energy (where a key is read; 0 elsewhere); per window of
        SUBBLOCKS + LATE_BLOCKS sub-blocks, the key of a frame in it that passed if the sound fills the window
        (else -1). None when no frame passes every rule, so every code is -1. `energies` are the sub-blocks';
        the `straddling` frames (across two lines) are dropped: they count as passing no rule."""
        summed, magnitude = self._meter.frames(coeffs)
        # The frequency rule in numpy over every frame, as one look-up of the two bands' strongest: in most
        # batches of speech and music no frame passes it, and in the rest a few do. The other rules are read
        # for those few alone, in Python: after a sleep each numpy call costs 5-30 µs, whatever its size
        # (docs/dtmf.md, "Speed").
        strongest = magnitude[:, :24].reshape(len(magnitude), 2, 12).argmax(axis=2)
        # read in Python through memoryviews: a numpy call for the few frames would cost more than the loop
        keys = self._key_of[strongest[:, 0], strongest[:, 1]].data
        near = [f for f, key in enumerate(keys) if key >= 0 and f not in straddling]
        if not near:
            return None
        return self._judge(near, keys, magnitude.data.cast("B").cast("f"), summed, energies)

    def _judge(self, near: list[int], keys: memoryview[int], magnitude: memoryview[float], summed: numpy.ndarray,
               energies: list[float]) -> tuple[list[int], list[float], list[int]] | None:
        """The rules after the frequency rule, for the frames that passed it (`near`; every frame's key, and
        its bins' magnitudes frame after frame), as _classify returns them."""
        frames = len(summed)
        width = len(magnitude) // frames
        # power, twist and steadiness: (key, mean energy) of each frame that passes them
        steady: dict[int, tuple[int, float]] = {}
        for f in near:
            key = keys[f]
            # each tone's magnitude: the strongest of its bins at -1.5 %, 0 and +1.5 %
            row = f * width
            r1, r2, r3, c1, c2, c3 = self._key_bins[key]
            low = max(magnitude[row + r1], magnitude[row + r2], magnitude[row + r3])
            high = max(magnitude[row + c1], magnitude[row + c2], magnitude[row + c3])
            if low < self._min_magnitude or high < self._min_magnitude:
                continue
            low, high = low * low, high * high
            window = energies[f:f + SUBBLOCKS]
            level = sum(window) / SUBBLOCKS
            if low * MIN_TWIST <= high <= low * MAX_TWIST and min(window) >= MIN_STEADY * level:
                steady[f] = (key, level)
        if not steady:
            return None
        # the share, read only where every other rule passed (few frames, and often none in a batch)
        bands = self._meter.band_energy(summed, list(steady), [key for key, _ in steady.values()])
        codes = {f: key for (f, (key, level)), band in zip(steady.items(), bands, strict=True)
                 if band >= MIN_TONE_SHARE * level}
        if not codes:
            return None
        twice, levels = [-1] * frames, [0.0] * frames
        for f, code in codes.items():
            levels[f] = steady[f][1]
            if min(energies[f:f + SUBBLOCKS]) >= MIN_STEADY_TWICE * levels[f]:
                twice[f] = code
        # per window of SUBBLOCKS + LATE_BLOCKS sub-blocks whose every sub-block is loud (against the middle
        # frame's mean energy): the key of any frame in it that passed (max: there is one, or the same twice).
        # The window starting at frame f is reported at its last frame, f + LATE_BLOCKS, whose level is read
        # then; the windows ending at the last frames are judged in the next batch, whose carried samples begin
        # with them
        late = frames - LATE_BLOCKS
        lasting = [-1] * late
        for f in sorted({w for v in codes for w in range(v - LATE_BLOCKS, v + 1) if 0 <= w < late}):
            middle = sum(energies[f + 1:f + 1 + SUBBLOCKS]) / SUBBLOCKS
            if min(energies[f:f + SUBBLOCKS + LATE_BLOCKS]) >= MIN_LASTING * middle:
                lasting[f] = max(codes.get(g, -1) for g in range(f, f + LATE_BLOCKS + 1))
                levels[f + LATE_BLOCKS] = sum(energies[f + LATE_BLOCKS:f + LATE_BLOCKS + SUBBLOCKS]) / SUBBLOCKS
        return twice, levels, lasting


class DtmfDetector:
    """Streaming receiver for one signal: feed signed 16-bit little-endian mono PCM in chunks of any size."""

    def __init__(self, rate: int = 8000) -> None:
        self._bank = DtmfBank(rate)
        self.rate = rate
        self._state = self._bank.state()

    def feed(self, pcm: bytes) -> list[str]:
        """Digits confirmed in this chunk; each key press is reported once, when it is confirmed."""
        return self._bank.detect([(self._state, pcm)])[0]


def _read_wav(path: str) -> tuple[int, bytes]:
    """(rate, signed 16-bit little-endian mono PCM) of a PCM WAV file."""
    import wave  # with the command (and argparse below): the daemon's receiver never reads a file

    import numpy as np

    try:
        with wave.open(path, "rb") as wav:
            rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
            frames = wav.readframes(wav.getnframes())
    except FileNotFoundError:
        raise DtmfFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise DtmfFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (wave.Error, EOFError) as exc:
        raise DtmfFileError(f"{path}: not a PCM WAV file ({exc or 'truncated header'})") from None
    if width not in (1, 2):
        raise DtmfFileError(f"{path}: unsupported sample width {8 * width} bits (8 or 16-bit PCM only)")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise DtmfFileError(f"{path}: unsupported sample rate {rate} Hz ({MIN_RATE}-{MAX_RATE} Hz only)")
    usable = len(frames) - len(frames) % (width * channels)
    if not usable:
        raise DtmfFileError(f"{path}: no audio in the file")
    if width == 1:  # 8-bit WAV is unsigned
        samples = (np.frombuffer(frames[:usable], dtype=np.uint8).astype(np.int32) - 128) * 256
    else:
        samples = np.frombuffer(frames[:usable], dtype="<i2").astype(np.int32)
    # averaging (not picking one channel) keeps a tone that is only on one side
    mono = samples.reshape(-1, channels).mean(axis=1)
    return rate, np.round(mono).astype("<i2").tobytes()


def decode_file(path: str) -> str:
    """The DTMF digits in a PCM WAV file (any rate from 4 to 192 kHz, mono or stereo, 8 or 16-bit)."""
    rate, pcm = _read_wav(path)
    detector = DtmfDetector(rate)
    chunk = 2 * rate * 10  # ten seconds at a time bounds memory on long recordings
    return "".join(
        digit for start in range(0, len(pcm), chunk) for digit in detector.feed(pcm[start : start + chunk])
    )


def main(argv: list[str] | None = None) -> int:
    """`hotline dtmf-decode FILE.wav`: print the digits in the file."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="hotline dtmf-decode", description="Print the DTMF digits in a WAV file."
    )
    parser.add_argument("file", help="PCM WAV file: 8 or 16-bit, mono or stereo, any rate from 4 to 192 kHz")
    args = parser.parse_args(argv)
    try:
        digits = decode_file(args.file)
    except DtmfFileError as exc:
        print(f"hotline dtmf-decode: error: {exc}", file=sys.stderr)
        return 1
    print(digits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
