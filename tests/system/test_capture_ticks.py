"""Lines on independent sound cards read on one shared tick, and their keys still come promptly, each once."""

from __future__ import annotations

import queue
import statistics
import threading
import time

import numpy as np
import pytest

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
        self.readers: set[str] = set()  # the threads that read it

    def avail(self) -> int:
        """The frames it holds (periods arrived and not read), as ALSA's avail() says."""
        if self.started is None:
            return 0
        held = (time.monotonic() - self.started) // PERIOD - self.done
        return int(max(0, held)) * LINE_PERIOD_FRAMES

    def read(self) -> tuple[int, bytes]:
        if self.started is None:
            self.started = time.monotonic() + self.phase
        self.done += 1
        time.sleep(max(0.0, self.started + self.done * PERIOD - time.monotonic()))
        self.returned.append(time.monotonic())
        self.readers.add(threading.current_thread().name)
        size = 2 * LINE_PERIOD_FRAMES
        return LINE_PERIOD_FRAMES, self.audio[(self.done - 1) * size:self.done * size].ljust(size, b"\0")

    def close(self) -> None:
        pass


def listen(cards: list[Card], count: int) -> dict[str, list[tuple[float, str]]]:
    """Lines listening on `cards` until `count` keys came (or 10 s), and 16 periods more: when each line heard
    what."""
    events: queue.Queue[tuple[float, DtmfReceived]] = queue.Queue()
    recorders = [AlsaRecorder(f"gsm{n}", f"card{n}", post=lambda e: events.put((time.monotonic(), e)),
                              open_pcm=lambda *_, card=card: card, detect_dtmf=True,
                              period_frames=LINE_PERIOD_FRAMES)
                 for n, card in enumerate(cards)]
    try:
        for recorder in recorders:
            recorder.listen()
        heard: dict[str, list[tuple[float, str]]] = {f"gsm{n}": [] for n in range(len(cards))}
        deadline = time.monotonic() + 10
        while sum(map(len, heard.values())) < count and time.monotonic() < deadline:
            try:
                at, event = events.get(timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            heard[event.line].append((at, event.digit))
        counted = next(card for card in cards if not isinstance(card, StallingCard))
        wait_until(lambda: len(counted.returned) >= 16, what="16 periods read")  # a key reported twice shows by now
        while not events.empty():
            at, event = events.get()
            heard[event.line].append((at, event.digit))
    finally:
        for card in cards:  # unplugged: a stalled read returns
            card.close()
        for recorder in recorders:
            recorder.close()
    return heard


def test_lines_on_cards_a_quarter_period_apart_read_together_and_each_key_comes_once_and_promptly():
    """Four lines whose cards end their periods 25 ms apart: their capture threads wake together (a thread
    woken alone pays its wakeup and cold caches by itself: ~40 % more CPU for four lines), and every key
    on every line is reported once, less than a quarter second after it ended."""
    keys = ["147", "258", "369", "*0#"]
    cards = [Card(pcm(sequence(digits, tone_ms=TONE_MS, gap_ms=GAP_MS, lead_ms=LEAD_MS)), n * PERIOD / 4)
             for n, digits in enumerate(keys)]
    heard = listen(cards, sum(map(len, keys)))
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


class StallingCard(Card):
    """A card that stops handing out periods after its first few: its read then blocks for good (the card
    stalls) or fails (it was unplugged), and it says it holds nothing."""

    def __init__(self, audio: bytes, phase: float, fails: bool) -> None:
        super().__init__(audio, phase)
        self.fails = fails
        self.closed = threading.Event()

    def avail(self) -> int:
        if self.done >= STALL_AFTER:
            if self.fails:
                raise OSError("No such device")
            return 0
        return super().avail()

    def read(self) -> tuple[int, bytes]:
        if self.done >= STALL_AFTER:
            if self.fails:
                raise OSError("No such device")
            self.closed.wait()  # stalled: until the test ends
        return super().read()

    def close(self) -> None:
        self.closed.set()


STALL_AFTER = 3  # periods, before the other lines' keys


@pytest.mark.parametrize("fails", [False, True], ids=["stalls", "vanishes"])
@pytest.mark.parametrize("broken", range(4))
def test_a_card_that_stalls_or_vanishes_silences_only_its_own_line(broken, fails):
    """One line's thread reads for the others at the tick; whichever line's card stalls (its read never returns)
    or vanishes, every key on the other lines is still reported, once."""
    keys = ["147", "258", "369", "*0#"]
    lead_ms = LEAD_MS + 200  # the first key starts after the card has stopped (STALL_AFTER periods)
    cards = [(StallingCard if n == broken else Card)(
        pcm(sequence(digits, tone_ms=TONE_MS, gap_ms=GAP_MS, lead_ms=lead_ms)), n * PERIOD / 4,
        **({"fails": fails} if n == broken else {}))
        for n, digits in enumerate(keys)]
    heard = listen(cards, sum(len(k) for n, k in enumerate(keys) if n != broken))
    expected = dict(zip(heard, keys, strict=True))
    expected[f"gsm{broken}"] = ""
    assert {line: "".join(d for _, d in got) for line, got in heard.items()} == expected
