"""The listener's mix of both sides of a call (appliance/service/listening.add): the clipped sample-by-sample sum,
whether nothing, part or all of the period was played and whether samples clip."""

from __future__ import annotations

import random
from array import array

from appliance.service.listening import add


def _reference(a: bytes, b: bytes) -> bytes:
    x, y = array("h", a), array("h", b[:len(a)].ljust(len(a), b"\x00"))
    return array("h", (max(-32768, min(32767, p + q)) for p, q in zip(x, y, strict=True))).tobytes()


def _pcm(rng: random.Random, n: int, loud: int) -> bytes:
    return array("h", (rng.randint(-loud, loud) for _ in range(n))).tobytes()


def test_the_mix_is_the_clipped_sum_of_both_sides():
    rng = random.Random(19)
    for _ in range(200):
        caller = _pcm(rng, 160, rng.choice((0, 1000, 20000, 32767)))
        played = _pcm(rng, rng.choice((0, 40, 160, 200)), rng.choice((0, 1000, 20000, 32767)))
        assert add(caller, played) == _reference(caller, played)
    loudest = array("h", [32767, -32768, 30000, -30000]).tobytes()
    assert array("h", add(loudest, loudest)).tolist() == [32767, -32768, 32767, -32768]
    assert add(loudest, b"") == loudest
