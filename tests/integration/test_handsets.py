"""Handsets through gpiozero's MockFactory: safe outputs, cadence timing, debounce, SLIC ringing."""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import replace

import pytest
from gpiozero.pins.mock import MockFactory, MockPin, MockPWMPin

from appliance.config import HandsetConfig
from appliance.config.handset_rules import CADENCES, check_cadence
from appliance.core.events import HookOff, HookOn
from appliance.handsets.devices import Handset, PresenceSwitch, SlicHandset, build_handset
from tests.support.waiting import wait_until

RELAY = HandsetConfig(id="h1", kind="relay", ring_pin=17, hook_pin=27, audio_pins={"gsm1": 22, "gsm2": 23})
SLIC = HandsetConfig(id="s1", kind="slic", ring_mode_pin=5, fr_pin=6, hook_pin=13, audio_pins={"gsm1": 19})


class Inbox:
    """Collects posted events; lets a test wait for one without sleeping a fixed time."""

    def __init__(self) -> None:
        self.events: list[object] = []
        self._changed = threading.Condition()

    def __call__(self, event: object) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 2.0) -> list[object]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.events) >= count, timeout)
        return list(self.events)


def high_spans(states) -> tuple[list[float], list[float]]:
    """Durations of the complete on and off stretches of an output, from MockPin's state history."""
    on, off = [], []
    # The first stretch is the wait before ringing began, the last one was cut short by stop.
    for previous, current in zip(states[1:-2], states[2:-1], strict=False):
        (on if previous.state else off).append(current.timestamp)
    return on, off


def typical(spans: list[float], places: int) -> list[float]:
    """The median stretch at each place of a cycle of `places` stretches (the first the cadence's first).

    The ring thread changes the output at deadlines counted from one start, so a wake-up the machine delays adds
    up to nothing over a ring; but it makes that one stretch longer and the next one shorter, even to nothing
    when it comes after the next deadline. On the shared CI machine that is tens to hundreds of ms now and then
    (a 50 ms gap came out as 7 us at a load of 15); the cadence the box plays is each place's typical stretch."""
    return [statistics.median(spans[place::places]) for place in range(places)]


class GroundedPin(MockPin):
    """A hook input whose switch is already closed to ground: the pull-up cannot raise it."""

    def _set_pull(self, value):
        self._pull = value
        self._change_state(False)


@pytest.fixture
def factory():
    return MockFactory()


def relay_handset(factory, inbox, cadence=(0.1, 0.2), **spec):
    return build_handset(replace(RELAY, **spec), pin_factory=factory, cadence=cadence, post=inbox)


@pytest.mark.parametrize("cadence", [[1.0], [1.0, -2], [1.0, "x"], [1.0, float("inf")], [0.04, 1.0], [1.0, 31]])
def test_a_handset_refuses_a_cadence_it_cannot_ring(factory, cadence):
    # The one check of a cadence, the config's for ringing.custom too (tests/integration/test_config_checks.py).
    with pytest.raises(ValueError, match="needs an even list of on/off seconds between 0.05 and 30"):
        check_cadence(cadence)
    with pytest.raises(ValueError, match="on/off seconds"):
        relay_handset(factory, Inbox(), cadence=cadence)
    relay_handset(factory, Inbox()).close()  # the pins were given back


def test_outputs_are_off_at_construction_off_and_close(factory):
    inbox = Inbox()
    handset = relay_handset(factory, inbox)
    outputs = [factory.pin(p) for p in (17, 22, 23)]
    assert [p.state for p in outputs] == [False, False, False]
    handset.ring()
    handset.connect("gsm1")
    assert wait_until(lambda: factory.pin(17).state)
    handset.off()
    assert [p.state for p in outputs] == [False, False, False]
    assert not handset.is_ringing and handset.connected_line is None
    handset.ring()
    handset.connect("gsm2")
    handset.close()
    handset.close()
    assert [p.state for p in outputs] == [False, False, False]
    # Pins are given back: a new handset can take them.
    relay_handset(factory, inbox).close()


def test_relay_cadence_timing_follows_the_cadence(factory):
    handset = relay_handset(factory, Inbox(), cadence=(0.15, 0.3))
    ring = factory.pin(17)
    handset.ring()
    wait_until(lambda: min(map(len, high_spans(ring.states))) >= 3, what="three whole on and off stretches")
    handset.stop_ringing()
    assert ring.state is False
    on, off = high_spans(ring.states)
    assert 0.12 <= typical(on, 1)[0] <= 0.3, on
    assert 0.25 <= typical(off, 1)[0] <= 0.5, off


def test_uk_double_ring_has_two_bursts_per_cycle(factory):
    # The UK preset scaled down four times: 100 ms on, 50 ms off, 100 ms on, 500 ms off.
    cadence = tuple(s / 4 for s in CADENCES["uk"])
    handset = relay_handset(factory, Inbox(), cadence=cadence)
    handset.ring()
    # Three whole cycles (a short and a long gap each), however slowly a loaded machine gets there.
    wait_until(lambda: len(high_spans(factory.pin(17).states)[1]) >= 6, 20, "three whole cycles")
    handset.stop_ringing()
    on, off = high_spans(factory.pin(17).states)
    short, long = typical(off, 2)  # each cycle's first gap is the short one
    assert 0.03 <= short <= 0.25 and 0.4 <= long <= 1.0, off
    assert all(0.06 <= t <= 0.25 for t in typical(on, 2)), on


def test_stop_ringing_silences_at_once_mid_burst(factory):
    handset = relay_handset(factory, Inbox(), cadence=(5.0, 1.0))
    handset.ring()
    assert wait_until(lambda: factory.pin(17).state)
    started = time.monotonic()
    handset.stop_ringing()
    assert time.monotonic() - started < 1.0
    assert factory.pin(17).state is False and not handset.is_ringing


def test_a_burst_of_hook_edges_gives_one_hook_off(factory):
    inbox = Inbox()
    handset = relay_handset(factory, inbox, bounce_time=0.1)  # wide, so a busy machine cannot split the burst
    hook = factory.pin(27)
    for _ in range(6):  # a contact bouncing for a few milliseconds, then resting lifted (to ground)
        hook.drive_low()
        hook.drive_high()
    hook.drive_low()
    assert inbox.wait_for(1) == [HookOff("h1")]
    time.sleep(0.1)  # the behaviour is an absence: one bounce time in which a second event would arrive
    assert inbox.events == [HookOff("h1")] and handset.is_off_hook
    hook.drive_high()
    assert inbox.wait_for(2) == [HookOff("h1"), HookOn("h1")]
    assert not handset.is_off_hook


def test_a_glitch_shorter_than_bounce_time_is_ignored(factory):
    inbox = Inbox()
    handset = relay_handset(factory, inbox, bounce_time=0.05)
    factory.pin(27).drive_low()
    factory.pin(27).drive_high()
    time.sleep(0.15)  # the behaviour is an absence: three bounce times in which a hook event would arrive
    assert inbox.events == [] and not handset.is_off_hook


def test_lifting_while_ringing_stops_the_ringing(factory):
    inbox = Inbox()
    handset = relay_handset(factory, inbox, cadence=(5.0, 1.0))
    handset.ring()
    assert wait_until(lambda: factory.pin(17).state)
    factory.pin(27).drive_low()
    assert inbox.wait_for(1) == [HookOff("h1")]
    assert factory.pin(17).state is False and not handset.is_ringing


def test_a_lifted_handset_is_never_rung_and_is_reported_at_start(factory):
    factory.pin(27, pin_class=GroundedPin)  # receiver left off the cradle before the daemon started
    inbox = Inbox()
    handset = relay_handset(factory, inbox)
    assert inbox.events == [HookOff("h1")] and handset.is_off_hook
    handset.ring()
    time.sleep(0.05)  # the behaviour is an absence: the ringer's first burst would have begun by now
    assert factory.pin(17).states[-1].state is False and not handset.is_ringing


def test_connect_closes_one_audio_relay_at_a_time(factory):
    handset = relay_handset(factory, Inbox())
    handset.connect("gsm1")
    assert (factory.pin(22).state, factory.pin(23).state) == (True, False)
    handset.connect("gsm2")
    assert (factory.pin(22).state, factory.pin(23).state) == (False, True)
    assert handset.connected_line == "gsm2"
    with pytest.raises(ValueError, match="'gsm9'"):
        handset.connect("gsm9")
    assert handset.connected_line == "gsm2" and factory.pin(23).state is True
    handset.disconnect()
    assert (factory.pin(22).state, factory.pin(23).state) == (False, False)


def test_active_low_relay_board_is_off_when_high(factory):
    handset = relay_handset(factory, Inbox(), active_low=True)
    assert factory.pin(17).state is True and factory.pin(22).state is True  # high = relay released
    handset.connect("gsm1")
    assert factory.pin(22).state is False
    handset.close()


def test_slic_rings_with_ring_mode_high_and_fr_at_ring_hz_by_pwm():
    factory = MockFactory(pin_class=MockPWMPin)
    handset = build_handset(replace(SLIC, ring_hz=25), pin_factory=factory, cadence=(0.2, 0.2), post=Inbox())
    assert isinstance(handset, SlicHandset)
    rm, fr = factory.pin(5), factory.pin(6)
    assert (rm.state, fr.state) == (0, 0)
    handset.ring()
    assert wait_until(lambda: rm.state == 1)
    assert fr.frequency == 25 and fr.state == 0.5  # a square wave at the ring frequency
    assert wait_until(lambda: rm.state == 0)  # the silent part: RM low, F/R still
    assert fr.state == 0
    handset.close()
    assert (rm.state, fr.state) == (0, 0)


def test_slic_without_pwm_toggles_fr_in_software_at_ring_hz(factory):
    handset = build_handset(SLIC, pin_factory=factory, cadence=(0.3, 0.3), post=Inbox())
    handset.ring()

    def fr_half_periods() -> list[float]:
        return [s.timestamp for s in factory.pin(6).states[2:] if s.timestamp < 0.1]

    wait_until(lambda: len(fr_half_periods()) >= 9, what="F/R toggled through four periods")
    handset.stop_ringing()
    half_periods = fr_half_periods()
    assert len(half_periods) >= 8
    frequency = 1 / (2 * sorted(half_periods)[len(half_periods) // 2])
    assert 15 <= frequency <= 25, frequency
    assert factory.pin(5).state is False and factory.pin(6).state is False


def test_slic_hook_is_off_hook_when_shk_goes_high(factory):
    inbox = Inbox()
    handset = build_handset(SLIC, pin_factory=factory, cadence=(0.2, 0.2), post=inbox)
    assert not handset.is_off_hook
    factory.pin(13).drive_high()
    assert inbox.wait_for(1) == [HookOff("s1")]
    factory.pin(13).drive_low()
    assert inbox.wait_for(2)[-1] == HookOn("s1")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"ring_pin": None}, "ring_pin"),
        ({"audio_pins": {}}, "audio relay"),
        ({"bounce_time": 5}, "bounce_time"),
    ],
)
def test_a_handset_that_cannot_be_built_leaves_its_pins_free(factory, change, named):
    # The config refuses all of these first (test_config_checks.py); a part failing mid-build gives back
    # the pins the parts before it took.
    with pytest.raises(ValueError, match=named):
        build_handset(replace(RELAY, **change), pin_factory=factory, cadence=(1.0, 4.0), post=Inbox())
    good = build_handset(RELAY, pin_factory=factory, cadence=(1.0, 4.0), post=Inbox())
    assert isinstance(good, Handset)
    good.close()


def test_slic_ring_hz_outside_ringing_range_is_refused(factory):
    with pytest.raises(ValueError, match="ring_hz 200"):
        build_handset(replace(SLIC, ring_hz=200), pin_factory=factory, cadence=(1.0, 4.0), post=Inbox())


def test_presence_switch_reports_operator_arrival_and_departure(factory):
    seen = []
    switch = PresenceSwitch(
        4,
        pin_factory=factory,
        bounce_time=0.02,
        when_present=lambda: seen.append("here"),
        when_absent=lambda: seen.append("gone"),
    )
    assert not switch.is_present
    factory.pin(4).drive_low()
    assert wait_until(lambda: seen == ["here"]) and switch.is_present
    factory.pin(4).drive_high()
    assert wait_until(lambda: seen == ["here", "gone"]) and not switch.is_present
    switch.close()


def test_a_pin_failing_mid_ring_leaves_the_ringer_off(factory):
    handset = relay_handset(factory, Inbox(), cadence=(0.05, 0.05))
    ring = factory.pin(17)
    real_change = ring._change_state
    failures = []

    def fail_on_second_burst(value):
        if value and any(s.state for s in ring.states):
            failures.append(value)
            raise OSError("GPIO went away")
        return real_change(value)

    ring._change_state = fail_on_second_burst
    handset.ring()
    assert wait_until(lambda: failures and not handset.is_ringing)
    assert ring.state is False


def test_a_mute_relay_cuts_the_microphone_only_when_asked_and_is_off_in_the_safe_state(factory):
    """Listen-only wiring (docs/handsets.md): mute_pin energised = microphone cut; off at start, at off(), at close."""
    handset = relay_handset(factory, Inbox(), mute_pin=19)
    mute = factory.pin(19)
    assert mute.state == 0
    handset.mute(True)
    assert mute.state == 1
    handset.off()
    assert mute.state == 0
    handset.mute(True)
    handset.close()
    assert mute.state == 0
    with pytest.raises(ValueError, match="has no mute_pin"):
        relay_handset(MockFactory(), Inbox()).mute(True)
