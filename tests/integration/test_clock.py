"""The wall clock steps by years while callers wait: no timer misfires, no wait or talk time is wrong.

A Pi has no real-time clock; NTP steps its wall clock by years after boot. The fake clock here moves
the wall clock on its own (`clock.now += ...`, a step: no time passes) or both clocks (`advance`).
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance import config as configuration
from appliance.core import events as ev
from appliance.core.clock import BoxClock, FakeClock
from appliance.service.switchboard_setup import make_switchboard
from appliance.service.timesync import SystemTime
from tests.unit.test_switchboard import LINE, board, classic_document, ended, to_menu

YEARS = 3 * 365 * 86400.0
STEPS = pytest.mark.parametrize("step", [YEARS, -YEARS], ids=["+3y", "-3y"])


def jump(clock: FakeClock, seconds: float) -> None:
    """The wall clock is stepped (NTP after a boot in the past, an admin): no time passes."""
    clock.now += seconds


@STEPS
def test_a_menu_timeout_fires_after_its_seconds_whichever_way_the_clock_steps(step):
    sb, clock = board()
    to_menu(sb, clock)
    sb.handle(ev.PromptFinished(LINE, "main_menu"))  # the 6 s timeout starts
    clock.advance(2)
    jump(clock, step)
    assert sb.handle(ev.Tick()) == []
    clock.advance(3.9)
    assert sb.handle(ev.Tick()) == []
    clock.advance(0.2)
    assert sb.handle(ev.Tick()) == [ev.Play(LINE, "main_menu")]


@STEPS
def test_operators_being_rung_are_not_missed_and_the_caller_not_overflowed_by_a_step(step):
    sb, clock = board()
    to_menu(sb, clock)
    sb.handle(ev.DtmfReceived(LINE, "0"))  # anyone: both handsets ring, 20 s ring timeout, 60 s max wait
    clock.advance(3)
    jump(clock, step)
    actions = sb.handle(ev.Tick())
    assert not any(isinstance(a, ev.StopRinging | ev.Play) for a in actions), actions
    assert [h["state"] for h in sb.status()["handsets"]] == ["ringing", "ringing"]
    assert sb.status()["waiting"][0]["seconds"] == 3
    assert sb.status()["calls"][0]["seconds"] == 6.5
    clock.advance(2)
    assert isinstance(sb.handle(ev.HookOff("h1"))[-1], ev.CallConnected)
    clock.advance(30)
    record = ended(sb.handle(ev.RemoteHangup(LINE)))
    assert record["outcome"] == "completed"
    assert (record["wait_seconds"], record["talk_seconds"]) == (5, 30)
    assert [o.missed_in_row for o in sb.operators] == [0, 0]


@STEPS
def test_wrap_up_lasts_its_seconds_across_a_step(step):
    sb, clock = board()
    to_menu(sb, clock)
    sb.handle(ev.DtmfReceived(LINE, "1"))  # legal: Anna at h1
    sb.handle(ev.HookOff("h1"))
    clock.advance(20)
    sb.handle(ev.HookOn("h1"))  # Anna wraps up for 10 s
    to_menu(sb, clock, call_id="call-2")  # 3.5 s later the next caller asks for legal again
    assert ev.RingHandset("h1") not in sb.handle(ev.DtmfReceived(LINE, "1"))
    jump(clock, step)
    clock.advance(6)
    assert ev.RingHandset("h1") not in sb.handle(ev.Tick())
    clock.advance(0.6)
    assert ev.RingHandset("h1") in sb.handle(ev.Tick())


@STEPS
def test_a_failed_callback_is_retried_after_its_pause_across_a_step(step):
    sb, clock = board()
    actions = sb.request_callback("+79161234567")
    assert ev.RingHandset("h1") in actions  # Anna is free: she is rung to make the call
    actions = sb.handle(ev.HookOff("h1"))
    assert ev.Dial(LINE, "+79161234567") in actions
    clock.advance(10)
    sb.handle(ev.DialFailed(LINE, "no answer"))  # retried in 300 s
    sb.handle(ev.HookOn("h1"))
    jump(clock, step)
    clock.advance(290)
    assert not any(isinstance(a, ev.RingHandset) for a in sb.handle(ev.Tick()))
    clock.advance(10)
    assert any(isinstance(a, ev.RingHandset) for a in sb.handle(ev.Tick()))


@STEPS
def test_a_waiting_caller_hears_their_place_in_line_on_time_across_a_step(step):
    document = classic_document()
    document["queue"] = {"announce_every": 30, "position_text": "You are number {n} in line."}
    cfg = configuration.parse(document, simulated=True)
    clock = FakeClock()
    sb = make_switchboard(cfg, clock)
    sb.handle(ev.LineUp(LINE))
    sb.handle(ev.IncomingCall(LINE, "+79161234567"))
    sb.handle(ev.CallAnswered(LINE))
    sb.handle(ev.PromptFinished(LINE, "greeting"))
    sb.handle(ev.DtmfReceived(LINE, "0"))  # waits for anyone, announced every 30 s
    clock.advance(10)
    jump(clock, step)
    clock.advance(19)
    assert ev.Play(LINE, "queue.position.1") not in sb.handle(ev.Tick())
    clock.advance(1)
    assert ev.Play(LINE, "queue.position.1") in sb.handle(ev.Tick())


# --- any number of steps, anywhere: nothing but the stamps may change ---------------------------------------

SCRIPT = [  # (seconds that pass first, what happens)
    (0, ev.IncomingCall(LINE, "+79161234567")), (0.5, ev.CallAnswered(LINE)),
    (3, ev.PromptFinished(LINE, "greeting")), (0, ev.PromptFinished(LINE, "main_menu")),
    (6, ev.Tick()), (0, ev.PromptFinished(LINE, "main_menu")), (2, ev.DtmfReceived(LINE, "0")),
    (20, ev.Tick()), (5, ev.Tick()), (3, ev.HookOff("h2")), (40, ev.HookOn("h2")),
    (1, ev.IncomingCall(LINE, "+79160000002")), (0.5, ev.CallAnswered(LINE)),
    (1, ev.DtmfReceived(LINE, "2")), (4, ev.Tick()), (7, ev.Tick()), (20, ev.Tick()), (5, ev.Tick()),
    (20, ev.Tick()), (20, ev.Tick()), (0, ev.PromptFinished(LINE, "nobody")),
]
STAMPS = ("started_at", "answered_at", "queued_at", "connected_at", "ended_at", "at")


def unstamped(action: object) -> object:
    """An action with its wall-clock stamps taken out: what a step may change."""
    if isinstance(action, ev.CallEnded):
        record = {k: v for k, v in action.record.as_dict().items() if k not in STAMPS}
        record["events"] = [{k: v for k, v in e.items() if k != "at"} for e in action.record.events]
        return record
    if dataclasses.is_dataclass(action):
        return dataclasses.replace(action, **{f: None for f in STAMPS if hasattr(action, f)})
    return action


def play(steps: list[float]) -> list[object]:
    sb, clock = board()
    heard: list[object] = []
    for (seconds, event), step in zip(SCRIPT, steps, strict=True):
        clock.advance(seconds)
        jump(clock, step)
        heard += [unstamped(a) for a in sb.handle(event)]
    return heard


def test_the_script_takes_every_stage():
    heard = play([0.0] * len(SCRIPT))
    records = [a for a in heard if isinstance(a, dict)]
    assert [r["outcome"] for r in records] == ["completed", "no answer"]
    assert any(isinstance(a, ev.StopRinging) for a in heard)  # a ring timeout and a retry pause


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.just(0.0), st.floats(-40 * YEARS, 40 * YEARS)), min_size=len(SCRIPT),
                max_size=len(SCRIPT)))
def test_wall_clock_steps_anywhere_change_nothing_but_stamps(steps):
    assert play(steps) == play([0.0] * len(SCRIPT))


# --- before the clock is set -----------------------------------------------------------------------------------


def office_hours(fallback: str | None) -> dict:
    document = classic_document()
    document["schedule"] = {"timezone": "UTC", "hours": {d: ["09:00-18:00"] for d in
                                                          ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
    if fallback is not None:
        document["schedule"]["when_time_unknown"] = fallback
    return document


@pytest.mark.parametrize(("fallback", "heard"), [(None, "main_menu"), ("open", "main_menu"), ("closed", "closed")])
def test_until_the_clock_is_set_calls_follow_when_time_unknown(fallback, heard):
    cfg = configuration.parse(office_hours(fallback), simulated=True)
    clock = FakeClock(1_700_000_000.0, synced=False)  # 22:13 UTC: closed, if the box knew
    sb = make_switchboard(cfg, clock)
    sb.handle(ev.LineUp(LINE))
    sb.handle(ev.IncomingCall(LINE, "+79161234567"))
    sb.handle(ev.CallAnswered(LINE))
    assert sb.handle(ev.PromptFinished(LINE, "greeting")) == [ev.Play(LINE, heard)]
    assert sb.status()["schedule"]["open"] is (heard == "main_menu")
    sb.handle(ev.RemoteHangup(LINE))
    clock.is_synced = True  # now the box knows it is 22:13: closed
    sb.handle(ev.IncomingCall(LINE, "+79161234567"))
    sb.handle(ev.CallAnswered(LINE))
    assert sb.handle(ev.PromptFinished(LINE, "greeting")) == [ev.Play(LINE, "closed")]


def test_a_bad_when_time_unknown_is_named():
    with pytest.raises(configuration.ConfigError, match=r"schedule\.when_time_unknown.*'sometimes'.*open.*closed"):
        configuration.parse(office_hours("sometimes"), simulated=True)


def test_the_box_knows_its_clock_is_synchronised_from_the_timesync_file(tmp_path):
    marker = tmp_path / "synchronized"
    source = SystemTime(marker)  # a file of its own: the kernel's status is not asked
    assert source.synced() is False
    marker.touch()  # systemd-timesyncd has synchronised
    assert source.synced() is True
    assert isinstance(SystemTime(marker, kernel=True).synced(), bool)


def test_stamps_made_before_the_time_is_set_are_off_by_one_amount_which_settle_gives():
    source = FakeClock(86400.0, synced=False)  # booted on 2 January 1970
    clock = BoxClock(source)
    source.advance(10)
    source.jump(5000)  # a step before the time is set moves no stamp
    assert clock.wall() == 86410 and clock.synced() is False and clock.settle() is None
    assert clock.first_stamp == 86400
    source.jump(1_800_000_000 - source.now)  # NTP sets the true time
    source.is_synced = True
    assert clock.settle() == 1_800_000_000 - 86410  # what every stamp made so far must move by
    assert clock.wall() == 1_800_000_000 and clock.synced() is True and clock.settle() is None


def test_a_damaged_note_of_earlier_runs_is_skipped_not_a_failed_start(tmp_path):
    from appliance.records.store.calls import CallStore
    from appliance.records.store.restamp import ProvisionalRuns

    store = CallStore(tmp_path / "calls.db")
    note = tmp_path / "clock.provisional"
    note.write_text('{"boot": "b", "runs": [{"since": "all", "low": 1}, 7]}')
    assert ProvisionalRuns(note, "b").settle(store.db, 1_800_000_000.0, 100.0) == 0
    assert not note.exists()
    store.close()
