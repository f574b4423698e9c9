"""Lines on independent sound cards read on one shared tick, and their keys still come promptly, each once."""

from __future__ import annotations

import queue
import statistics
import time

import numpy as np

from appliance.audio.recorder import LINE_PERIOD_FRAMES, AlsaRecorder
from appliance.core.events import DtmfReceived
from tests.support.dtmf_signals import pcm, sequence
from tests.support.waiting import wait_until

RATE = 8000
PERIOD = LINE_PERIOD_FRAMES / RATE
TONE_MS, GAP_MS, LEAD_MS = 60, 140, 300


class Card:
    """A capture card with its own clock: read() blocks until the next period has arrived, as ALSA's does;
    each card's periods end at its own moment (`phase` after its first read), as independent cards' do."""

    def __init__(self, audio: bytes, phase: float) -> None:
        self.audio, self.phase = audio, phase
        self.started: float | None = None  # the moment the card's first sample arrived
        self.done = 0  # periods handed out
        self.returned: list[float] = []  # when each read returned

    def read(self) -> tuple[int, bytes]:
        if self.started is None:
            self.started = time.monotonic() + self.phase
        self.done += 1
        time.sleep(max(0.0, self.started + self.done * PERIOD - time.monotonic()))
        self.returned.append(time.monotonic())
        size = 2 * LINE_PERIOD_FRAMES
        return LINE_PERIOD_FRAMES, self.audio[(self.done - 1) * size:self.done * size].ljust(size, b"\0")

    def close(self) -> None:
        pass


def test_lines_on_cards_a_quarter_period_apart_read_together_and_each_key_comes_once_and_promptly():
    """Four lines whose cards end their periods 25 ms apart: their capture threads wake together (a thread
    woken alone pays its wakeup and cold caches by itself: ~40 % more CPU for four lines), and every key
    on every line is reported once, less than a quarter second after it ended."""
    keys = ["147", "258", "369", "*0#"]
    cards = [Card(pcm(sequence(digits, tone_ms=TONE_MS, gap_ms=GAP_MS, lead_ms=LEAD_MS)), n * PERIOD / 4)
             for n, digits in enumerate(keys)]
    events: queue.Queue[tuple[float, DtmfReceived]] = queue.Queue()
    recorders = [AlsaRecorder(f"gsm{n}", f"card{n}", post=lambda e: events.put((time.monotonic(), e)),
                              open_pcm=lambda *_, card=card: card, detect_dtmf=True,
                              period_frames=LINE_PERIOD_FRAMES)
                 for n, card in enumerate(cards)]
    try:
        for recorder in recorders:
            recorder.listen()
        heard: dict[str, list[tuple[float, str]]] = {f"gsm{n}": [] for n in range(len(keys))}
        deadline = time.monotonic() + 10
        while sum(map(len, heard.values())) < sum(map(len, keys)) and time.monotonic() < deadline:
            try:
                at, event = events.get(timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            heard[event.line].append((at, event.digit))
        wait_until(lambda: len(cards[0].returned) >= 16, what="16 periods read")  # a key reported twice shows by now
        while not events.empty():
            at, event = events.get()
            heard[event.line].append((at, event.digit))
    finally:
        for recorder in recorders:
            recorder.close()
    assert {line: "".join(d for _, d in got) for line, got in heard.items()} == dict(zip(heard, keys, strict=True))
    late = []
    for card, got in zip(cards, heard.values(), strict=True):
        assert card.started is not None
        for j, (at, _) in enumerate(got):
            ended = card.started + (LEAD_MS + j * (TONE_MS + GAP_MS) + TONE_MS) / 1000
            late.append(at - ended)
    assert max(late) < 0.25, late
    # once each card's first read has shown where its periods end, the reads fall together
    rounds = [max(min(abs(t - u) for u in other.returned) for other in cards[1:])
              for t in cards[0].returned if t > cards[0].returned[0] + 0.3][:-1]
    assert len(rounds) >= 5
    assert statistics.median(rounds) < 0.01, np.round(rounds, 3)
