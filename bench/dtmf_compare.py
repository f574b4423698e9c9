"""The DTMF receiver against another commit's, batch by batch: a change of its arithmetic must not change a decision.

Both receivers (this tree's appliance/audio/dtmf.py and dtmf_tones.py, and the same two files of `--base`, read
with `git show`) are fed the same signals four lines at a time, as the daemon's engine feeds them, in periods of
100 ms (the lines' capture period), 20 ms and 97 ms (batches that do not fall on sub-block edges): the 25 cases
of bench/dtmf.py, 30 random noisy key sequences (keys, lengths, pauses, twists, offsets, levels and noise drawn
from a fixed seed), a silent line and lines of faint noise below and above the energy gate. After every batch it
compares each line's digits and the state the receiver keeps for it (the key held, the key spent, the candidate and its
frames, the quiet sub-blocks and missing frames, and the held key's level to a relative 1e-5); float rounding may
differ, decisions must not. Prints the
batches compared and every difference; exits 1 if there is one.

    .venv/bin/python bench/dtmf_compare.py [--base main]
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

import numpy as np  # noqa: E402  (bench only)
from dtmf import cases  # noqa: E402  (bench/dtmf.py)

from appliance.audio import dtmf as ours  # noqa: E402
from tests.support.dtmf_signals import ALL_DIGITS, pcm, sequence, silence, with_noise  # noqa: E402

RATE = 8000
PERIODS_MS = (100, 20, 97)
KEPT = ("held", "spent", "candidate", "candidate_frames", "quiet_blocks", "missing_frames")


def base_receiver(base: str, into: Path):
    """The module dtmf.py of commit `base`, with its own dtmf_tones.py, as a package of its own."""
    package = into / "dtmf_base"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("dtmf.py", "dtmf_tones.py"):
        text = subprocess.run(["git", "show", f"{base}:appliance/audio/{name}"], cwd=REPO, check=True,
                              capture_output=True, text=True).stdout
        (package / name).write_text(text)
    sys.path.insert(0, str(into))
    return importlib.import_module("dtmf_base.dtmf")


def random_keys(count: int, seed: int = 18) -> list[np.ndarray]:
    """Noisy key sequences with everything a line varies drawn at random, each starting with some silence."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        keys = "".join(rng.choice(list(ALL_DIGITS), size=int(rng.integers(3, 9))))
        keyed = sequence(keys, tone_ms=float(rng.uniform(35, 80)), gap_ms=float(rng.uniform(35, 80)),
                         lead_ms=float(rng.uniform(0, 120)), level_db=float(rng.uniform(-40, -3)),
                         twist_db=float(rng.uniform(-9, 5)), offset=float(rng.uniform(-0.02, 0.02)))
        out.append(with_noise(keyed, float(rng.uniform(12, 30)), int(rng.integers(1, 1000))))
    return out


def signals() -> list[bytes]:
    made = [signal for _, _, signal in cases()] + random_keys(30)
    faint = np.random.default_rng(5).standard_normal(16000)
    made += [silence(2000), faint * 0.001, faint * 0.005]  # silence; noise below the energy gate, and above it
    return [pcm(signal) for signal in made]


def compare(base, lines: list[bytes], period_bytes: int) -> tuple[int, list[str]]:
    """(batches compared, differences) for these lines fed together, period by period."""
    banks = (base.DtmfBank(RATE), ours.DtmfBank(RATE))
    states = ([banks[0].state() for _ in lines], [banks[1].state() for _ in lines])
    batches, differences = 0, []
    for at in range(0, max(map(len, lines)), period_bytes):
        fed = [k for k, line in enumerate(lines) if at < len(line)]  # a line that has ended feeds no more
        found = [bank.detect([(kept[k], lines[k][at:at + period_bytes]) for k in fed])
                 for bank, kept in zip(banks, states, strict=True)]
        batches += 1
        for n, k in enumerate(fed):
            was = [getattr(states[0][k], name) for name in KEPT]
            now = [getattr(states[1][k], name) for name in KEPT]
            # float rounding may differ, no more; a receiver may keep its energies in units of its own
            level = tuple(kept[k].held_level / getattr(bank._meter, "full_scale", 1.0)
                          for bank, kept in zip(banks, states, strict=True))
            if found[0][n] != found[1][n] or was != now or abs(level[0] - level[1]) > 1e-5 * max(level):
                differences.append(f"byte {at}, line {k}: digits {found[0][n]} -> {found[1][n]}, "
                                   f"state {dict(zip(KEPT, was, strict=True))} -> {dict(zip(KEPT, now, strict=True))}"
                                   f", level {level[0]:.6g} -> {level[1]:.6g}")
    return batches, differences


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main", help="the commit whose receiver is compared (default: main)")
    args = parser.parse_args()
    made = signals()
    with tempfile.TemporaryDirectory() as tmp:
        base = base_receiver(args.base, Path(tmp))
        total, differences = 0, []
        for period_ms in PERIODS_MS:
            for first in range(0, len(made), 4):
                group = made[first:first + 4]
                batches, found = compare(base, group, 2 * RATE * period_ms // 1000)
                total += batches
                differences += [f"{period_ms} ms periods, signals {first}-{first + len(group) - 1}, {d}"
                                for d in found]
    print(f"{len(made)} signals, four lines at a time, periods {PERIODS_MS} ms: {total} batches compared "
          f"against {args.base}, {len(differences)} differences")
    for difference in differences:
        print(" ", difference)
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
