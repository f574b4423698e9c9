"""The spoken handover whisper on the real daemon (issue 20 item 5): pty modem emulators for two lines, gpiozero's
MockFactory for the desks. Anna hands her caller to Desk 2; when Boris lifts the receiver, Desk 2's audio relay
closes on the free line's bus first and that line's sound card says who is coming, then the relay moves to the
caller's line."""

from __future__ import annotations

import pytest

from appliance import config as configuration
from appliance.service import control
from tests.support.boxes import simulated_box
from tests.support.status import loop_status
from tests.support.waiting import wait_until

H1_HOOK, H2_RING, H2_HOOK = 27, 5, 6
H2_ON_GSM1, H2_ON_GSM2 = 13, 19


def whisper_document() -> dict:
    document = configuration.default_document()
    document["lines"].append(dict(document["lines"][0], id="gsm2"))
    document["handsets"][0]["audio_pins"]["gsm2"] = 23
    document["handsets"][1]["audio_pins"]["gsm2"] = H2_ON_GSM2
    document["queue"]["handover_whisper"] = True
    document["flow"]["start"] = "legal"  # straight to Anna's queue: the menu is tested elsewhere
    return document


@pytest.mark.slow  # the daemon makes its prompts first
def test_the_desk_taking_a_handover_hears_who_is_coming_in_its_handset_then_talks_to_the_caller(tmp_path):
    with simulated_box(tmp_path / "data", whisper_document()) as (daemon, simulation):
        pins = simulation.pin_factory.pin
        assert "handover.legal" in daemon.prompts
        wait_until(lambda: all(line["state"] == "up" for line in loop_status(daemon)["lines"]), 20, "both lines up")
        assert simulation.emulators["gsm1"].incoming_call("+79165550101")
        wait_until(lambda: pins(17).state == 1, 20, "Desk 1 to ring")
        pins(H1_HOOK).drive_low()
        call = wait_until(lambda: (c := daemon.core.line_calls["gsm1"]) and c.connected_at and c, 10, "Anna")
        control.call(daemon.control_path, "call.handover", call=call.id, to="h2")
        wait_until(lambda: pins(H2_RING).state == 1, 10, "Desk 2 to ring")
        said = daemon.players["gsm2"].frames_written
        pins(H2_HOOK).drive_low()
        wait_until(lambda: pins(H2_ON_GSM2).state == 1, 10, "Desk 2 on the free line's bus")
        assert pins(H2_ON_GSM1).state == 0, "the caller is not heard before the whisper is said"
        wait_until(lambda: pins(H2_ON_GSM1).state == 1, 20, "Desk 2 joined to the caller")
        assert pins(H2_ON_GSM2).state == 0
        spoken = daemon.players["gsm2"].frames_written - said
        assert spoken * 2 >= len(daemon.prompts["handover.legal"].read_bytes()), "the whole whisper was played"
        assert daemon.core.line_calls["gsm1"].handset == "h2"
        simulation.emulators["gsm1"].remote_hangup()
        wait_until(lambda: daemon.core.line_calls["gsm1"] is None, 10, "the call to end")
