"""The DTMF receiver's tone measurement: what each frame of caller audio holds at the DTMF frequencies.

Audio is cut into sub-blocks of HOP_SECONDS; a frame is SUBBLOCKS of them in a row (~23.75 ms), slid by one.
Each sub-block is transformed once, by one matrix product for every line's audio together, at 40 frequencies
(rectangular window, one DFT bin each): per nominal tone, the tone itself, two guard frequencies 5 % below
and above it, and two bins 1.5 % either side. A frame's transform is the sum of its sub-blocks', turned to
one common time origin. From it `ToneMeter.frames` gives every bin's magnitude (a tone's power is the square of
the strongest of its bins at -1.5 %, 0 and +1.5 %, since the frame is narrow at 1633 Hz); `sub_blocks` each
sub-block's energy; and `band_energy` the frame's energy in the span of a tone's three bins (which holds a tone
anywhere within ±1.5 %, and one whose level steps inside the frame). What counts as a key is decided in dtmf.py.
Energies and powers are in the samples' own units (16-bit integers, squared and summed over a sub-block);
`full_scale` converts.

Written for few numpy calls per batch: a batch runs every 100 ms, by then numpy's code and data have left the
CPU's caches, and after the sleep every call costs 5-30 µs whatever its size (docs/dtmf.md, "Speed"). So a
batch's measurement is a cast, one energy call, one matrix product, one turn, three additions and one magnitude
call, for every line's audio together; the complex arithmetic is done on float32 pairs.

numpy is imported when a meter is made, never when the module is imported (the daemon imports it on a Pi Zero).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy

ROWS = (697.0, 770.0, 852.0, 941.0)
COLUMNS = (1209.0, 1336.0, 1477.0, 1633.0)

HOP_SECONDS = 0.00475
SUBBLOCKS = 5  # frame = 5 hops ≈ 23.75 ms: 1.5 % told from 3.5 % at 697 Hz, and it fits a codec-smeared 40 ms key
GUARD = 0.05  # guard frequencies at ±5 %: half of the ~10.5 % spacing between neighbouring DTMF tones
SPREAD = 0.015  # extra bins where an off-frequency tone that must still be accepted is measured at full power

MIN_RATE = 4000  # the highest guard frequency (1715 Hz) must stay below Nyquist
MAX_RATE = 192000



class ToneMeter:
    """The transform tables for one sample rate, and the measurement of any number of lines' frames at once."""

    def __init__(self, rate: int) -> None:
        import numpy as np

        if isinstance(rate, bool) or not isinstance(rate, int) or not MIN_RATE <= rate <= MAX_RATE:
            raise ValueError(
                f"DTMF sample rate must be an integer from {MIN_RATE} to {MAX_RATE} Hz, got {rate!r}"
            )
        self.rate = rate
        self._np = np
        self.hop = round(rate * HOP_SECONDS)
        self._window = SUBBLOCKS * self.hop
        nominal = np.array(ROWS + COLUMNS)
        # bins 0-23: (guard below, nominal, guard above) per tone, rows then columns, so that the decision is
        # one contiguous argmax per band; bins 24-39: (-1.5 %, +1.5 %) per tone, for the tone's power
        decision = nominal[:, None] * np.array([1 - GUARD, 1.0, 1 + GUARD])
        spread = nominal[:, None] * np.array([1 - SPREAD, 1 + SPREAD])
        freqs = np.concatenate((decision.ravel(), spread.ravel()))
        omega = 2 * np.pi * freqs / rate
        phase = np.outer(np.arange(self.hop), omega)
        # Energies and powers are in the samples' own units, 16-bit integers squared and summed over a sub-block,
        # so that the conversion is one cast and a sub-block's energy one more call: FULL_SCALE (a sub-block at
        # mean-square 1, full scale) is what the thresholds are multiplied by.
        self.full_scale = float(self.hop * 32768**2)
        # interleaved (cos, -sin) columns: the real matrix product viewed as complex64 is the DFT, no copy;
        # scaled so that |X|² of a full frame is a sine's mean-square power in those units
        scale = np.sqrt(2.0) / self._window * np.sqrt(self.hop)
        self._basis = (
            (scale * np.stack((np.cos(phase), -np.sin(phase)), axis=2)).reshape(self.hop, -1).astype(np.float32)
        )
        self._omega_hop = omega * self.hop
        self._phase = np.empty((0, omega.size), dtype=np.complex64)
        self._unturn = np.empty((0, omega.size), dtype=np.complex64)
        band_tone = np.arange(8)
        # per tone (band * 4 + tone): its bins at -1.5 %, 0 and +1.5 %
        tone_bins = np.stack((24 + band_tone * 2, band_tone * 3 + 1, 25 + band_tone * 2), axis=1)
        self.tone_bins = [tuple(bins) for bins in tone_bins.tolist()]
        # per pair of tones (row tone * 4 + column tone, as a key's code): the row tone's bins, then the column's
        self._pair_bins = [self.tone_bins[pair // 4] + self.tone_bins[4 + pair % 4] for pair in range(16)]
        # The band energy X^H G^-1 X, G the Gram matrix of a tone's three bins over a frame: a steady tone
        # anywhere within ±1.5 %, or one whose level steps inside the frame (GSM 06.10 at its own frame edges),
        # where one bin sees leakage. Bins a frame bin (42 Hz) apart would need no G, but lose up to 15 % of a
        # steady tone between two of them.
        band_omega = omega[tone_bins]  # 8 tones x 3 bins
        apart = band_omega[:, :, None] - band_omega[:, None, :]
        apart[:, np.arange(3), np.arange(3)] = 1.0  # (the diagonal is set to 1 below; this keeps it finite)
        # the mean of exp(-i d n) over a frame's samples, as the geometric sum it is (building the terms for a
        # 22 kHz frame cost more than the rest of a detector's start)
        gram = (1 - np.exp(-1j * apart * self._window)) / (self._window * (1 - np.exp(-1j * apart)))
        gram[:, np.arange(3), np.arange(3)] = 1.0
        # X^H G^-1 X as z^T R z, z the real and imaginary parts of X side by side (a view of complex64 as float32)
        # and R the real 6x6 form of G^-1; per pair of tones, the two forms on a 12x12 diagonal, so that both
        # tones' band energies of any number of frames are one product
        inverse = np.linalg.inv(gram)
        real_form = np.block([[inverse.real, -inverse.imag], [inverse.imag, inverse.real]])
        order = np.array([0, 3, 1, 4, 2, 5])  # (re, im) pairs interleaved, as complex64 lies in memory
        tone_form = real_form[:, order][:, :, order]
        self._pair_form = np.zeros((16, 12, 12), dtype=np.float32)
        for pair in range(16):
            self._pair_form[pair, :6, :6] = tone_form[pair // 4]
            self._pair_form[pair, 6:, 6:] = tone_form[4 + pair % 4]

    def sub_blocks(self, pcm: bytes) -> tuple[numpy.ndarray, numpy.ndarray]:
        """(the sub-blocks, each one's energy) of 16-bit PCM made of whole sub-blocks."""
        np = self._np
        blocks = np.frombuffer(pcm, dtype="<i2").astype(np.float32).reshape(-1, self.hop)
        return blocks, np.vecdot(blocks, blocks)

    def transform(self, blocks: numpy.ndarray) -> numpy.ndarray:
        """Each sub-block's transform at the 40 frequencies, as float32 (re, im) pairs."""
        return blocks @ self._basis

    def frames(self, coeffs: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray]:
        """For every run of SUBBLOCKS sub-blocks: (its transform as float32 (re, im) pairs, every bin's magnitude,
        the square root of its power: one call, and the strongest bin is the same)."""
        np = self._np
        count = len(coeffs)
        frames = count - SUBBLOCKS + 1
        # each sub-block's transform turned to one common time origin (the batch's start), so that a frame's is
        # the plain sum of its sub-blocks' (its own origin would only turn the phase, and the power ignores that)
        if len(self._phase) < count:
            # grown to the longest batch seen, as 64-block steps times the turns within one step: one product,
            # not an exponential per entry (that made decoding a whole file several times slower)
            within = np.exp(-1j * np.arange(64)[:, None] * self._omega_hop).astype(np.complex64)
            steps = np.exp(-1j * np.arange(0, count + 64, 64)[:, None] * self._omega_hop).astype(np.complex64)
            self._phase = (steps[:, None, :] * within).reshape(-1, within.shape[1])
            self._unturn = self._phase.conj()
        turned = (coeffs.view(np.complex64) * self._phase[:count]).view(np.float32)
        # runs of 2, then of 4, then 5 sub-blocks: three additions (SUBBLOCKS is 5)
        pairs = turned[:-1] + turned[1:]
        summed = pairs[:frames] + pairs[2 : frames + 2]
        summed += turned[SUBBLOCKS - 1 :]
        return summed, np.abs(summed.view(np.complex64))

    def band_energy(self, summed: numpy.ndarray, at: list[int], pairs: list[int]) -> list[float]:
        """Frames `at`'s energy in the span of the three bins of each of its two tones (`pairs`, each row tone * 4
        + column tone), the two summed."""
        np = self._np
        width = summed.shape[1] // 2  # bins per frame
        flat = np.array([f * width + b for f, pair in zip(at, pairs, strict=True) for b in self._pair_bins[pair]])
        # each bin back at the frame's own origin: the common one turned the bins apart, which the cross terms
        # of the projection would see
        measured = summed.view(np.complex64).reshape(-1)[flat] * self._unturn.reshape(-1)[flat]
        z = measured.view(np.float32).reshape(len(at), 12)
        return np.einsum("fi,fij,fj->f", z, self._pair_form[pairs], z).tolist()
