"""Each family: manual transcripts replayed through the parser, and a whole call against the emulator."""

from __future__ import annotations

import pytest

from appliance.core.events import (
    CallAnswered,
    CallerId,
    DtmfReceived,
    LineUp,
    RemoteHangup,
)
from appliance.modem.dialects import DIALECTS, detect, dialect_named
from appliance.modem.framing import LineSplitter
from appliance.modem.line import ModemLine
from appliance.sim.emulator import ModemEmulator
from tests import support
from tests.support.modem_kit import Events, is_new_call

TRANSCRIPTS = support.TRANSCRIPTS
FAMILIES = ["sim800", "sim7600", "quectel", "huawei", "v253"]


def replay(dialect: str) -> list[tuple[str, list[str], list[str]]]:
    """(modem line, expected happenings, parsed happenings) for each `<` line of the transcript."""
    steps: list[tuple[str, list[str]]] = []
    for raw in (TRANSCRIPTS / f"{dialect}.txt").read_text().splitlines():
        if raw.startswith("< "):
            steps.append((raw[2:], []))
        elif raw.startswith("= "):
            steps[-1][1].append(raw[2:])
    parser = dialect_named(dialect)
    splitter = LineSplitter(dialect)
    out = []
    for text, expected in steps:
        data = text.replace("<DLE>", "\x10").encode()
        dle_code = len(data) == 2 and data.startswith(b"\x10")  # `<DLE>RING` is a report after a stray DLE
        wire = data if dle_code else b"\r\n" + data + b"\r\n"
        got = [repr(h) for token in splitter.feed(wire) for h in parser.parse(token)]
        out.append((text, expected, got))
    return out


@pytest.mark.parametrize("dialect", FAMILIES)
def test_manual_transcripts_parse_to_the_expected_happenings(dialect):
    for text, expected, got in replay(dialect):
        assert got == expected, f"{dialect}: {text!r}"


def test_every_family_has_a_transcript_and_a_name():
    assert sorted(DIALECTS) == sorted(FAMILIES)
    assert all((TRANSCRIPTS / f"{d}.txt").exists() for d in FAMILIES)


@pytest.mark.parametrize(("said", "family"), [
    ("SIM800 R14.18 SIMCOM_Ltd SIMCOM_SIM800L", "sim800"),
    ("Manufacturer: SIMCOM INCORPORATED Model: SIMCOM_SIM7600E-H", "sim7600"),
    ("Quectel EC25 Revision: EC25EFAR06A03M4G", "quectel"),
    ("Manufacturer: huawei Model: E173", "huawei"),
    ("U.S. Robotics 56K FAX EXT", None),
])
def test_detection_from_what_the_modem_says(said, family):
    assert detect(said) == family




@pytest.mark.parametrize("dialect", FAMILIES)
def test_a_whole_call_in_every_dialect_with_auto_detection(dialect):
    emu = ModemEmulator(dialect)
    emu.start()
    events = Events()
    line = ModemLine("l1", emu.port, post=events.q.put, dialect="auto")
    try:
        line.start()
        assert events.next() == LineUp("l1")
        assert line.status()["dialect"] == dialect
        emu.incoming_call("5551234")
        assert is_new_call(events.next(), "l1")
        assert events.next() == CallerId("l1", "5551234")
        assert events.next() == CallAnswered("l1")
        emu.send_dtmf("7*")
        assert events.next() == DtmfReceived("l1", "7")
        assert events.next() == DtmfReceived("l1", "*")
        emu.remote_hangup()
        assert isinstance(events.next(), RemoteHangup)
        # the network drops the next call mid-menu: only the family's own report (or its absence) tells
        emu.incoming_call(None)
        assert is_new_call(events.next(), "l1")
        assert events.next() == CallerId("l1", None)
        assert events.next() == CallAnswered("l1")
        emu.drop_call()
        assert isinstance(events.next(), RemoteHangup)
        assert line.status()["state"] == "up"
    finally:
        line.close()
        emu.stop()


def test_signal_reports_inside_the_csq_reply_do_not_spoil_it():
    emu = ModemEmulator("huawei")
    emu.script.network.urc_before_csq = ("^RSSI:15", '^HCSQ:"WCDMA",30,30,58')
    emu.start()
    events = Events()
    line = ModemLine("l1", emu.port, post=events.q.put, dialect="huawei")
    try:
        line.start()
        assert events.next() == LineUp("l1")
        assert line.status()["signal_dbm"] == -73
    finally:
        line.close()
        emu.stop()
