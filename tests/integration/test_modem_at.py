"""The AT engine on a real pty: line splitting, reply matching, reports mid-reply, prompts, faults."""

from __future__ import annotations

import os
import select
import threading
import time
import tty

import pytest
import serial
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.modem.at import AtChannel, AtTimeout, PortLost
from appliance.modem.framing import PROMPT, DleEvent, LineSplitter
from tests.support.waiting import wait_until


def test_lines_end_with_cr_lf_crlf_or_crcr():
    s = LineSplitter()
    assert s.feed(b"\r\nOK\r\n+CSQ: 1,2\r\rRING\rNO CARRIER\n\n") == ["OK", "+CSQ: 1,2", "RING", "NO CARRIER"]


def test_a_line_split_across_reads_is_joined():
    s = LineSplitter()
    assert s.feed(b"+CLIP: \"+7916") == []
    assert s.feed(b'123",145\r\n') == ['+CLIP: "+7916123",145']


def test_garbage_and_over_long_lines_are_skipped_and_counted():
    s = LineSplitter(max_line=64)
    out = s.feed(b"\x00\xff\x81\xfe\x02junk\r\nOK\r\n" + b"A" * 500 + b"\r\nRING\r\n")
    assert out == ["OK", "RING"]
    assert s.skipped == 2


def test_sms_prompt_without_line_end_is_recognised():
    assert LineSplitter().feed(b"\r\n> ") == [PROMPT]


def test_dle_shielded_codes_are_events():
    assert LineSplitter().feed(b"\x105\x10b\r\nOK\r\n") == [DleEvent("5"), DleEvent("b"), "OK"]


def test_a_stray_dle_never_eats_a_report():
    s = LineSplitter()
    assert s.feed(b"\x10RING\r\n\x10\r\n+CLIP: \"5551234\",129\r\nOK\x10\r\n") == [
        "RING", '+CLIP: "5551234",129', "OK"]
    # the stray DLE and the report's first letter end one read, the rest of the report comes in the next
    assert s.feed(b"\r\n\x10R") == [DleEvent("R")]
    assert s.feed(b"ING\r\n") == ["RING"]
    # a real V.253 code split from its DLE across reads is still a code
    assert s.feed(b"\x10") == []
    assert s.feed(b"5\x10b\r\n") == [DleEvent("5"), DleEvent("b")]


def test_cyrillic_text_is_a_line_not_garbage():
    assert LineSplitter().feed("Баланс 100 р\r\n".encode()) == ["Баланс 100 р"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_any_bytes_never_raise_and_never_yield_control_characters(chunks):
    s = LineSplitter(max_line=128)
    for chunk in chunks:
        for token in s.feed(chunk):
            if isinstance(token, str):
                assert len(token) <= 128
                assert not any(ord(c) < 0x20 and c != "\t" for c in token)


class FakeModem:
    """The far side of a pty: answers each command with canned bytes."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.slave = slave
        self.path = os.ttyname(slave)
        self.answers: dict[str, bytes] = {}
        self.got = bytearray()
        self._stop_r, self._stop_w = os.pipe()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        buf = b""
        while True:
            ready, _, _ = select.select([self.master, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            try:
                data = os.read(self.master, 1024)
            except OSError:
                return
            self.got.extend(data)
            buf += data
            while b"\r" in buf:
                line, buf = buf.split(b"\r", 1)
                answer = self.answers.get(line.decode(errors="replace").strip())
                if answer:
                    os.write(self.master, answer)

    def say(self, data: bytes) -> None:
        os.write(self.master, data)

    def vanish(self) -> None:
        os.write(self._stop_w, b"x")
        self.thread.join()
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def rig():
    modem = FakeModem()
    reports: list = []
    lost: list[str] = []
    got_report = threading.Event()

    def on_report(token):
        reports.append(token)
        got_report.set()

    port = serial.serial_for_url(modem.path, baudrate=115200, timeout=None)
    channel = AtChannel(port, name="line t (pty)", is_report=lambda ln: ln.startswith(("^", "RING", "+CLIP")),
                        on_report=on_report, on_lost=lost.append)
    channel.start()
    yield modem, channel, reports, lost, got_report
    channel.close()
    if modem.thread.is_alive():
        modem.vanish()


def test_reply_mixed_with_reports_and_echo(rig):
    modem, channel, reports, _, _ = rig
    modem.answers["AT+CSQ"] = b"AT+CSQ\r\r\n^RSSI: 15\r\n+CSQ: 20,99\r\n^HCSQ: \"LTE\",50\r\n\r\nOK\r\n"
    reply = channel.command("AT+CSQ", timeout=2)
    assert reply.ok
    assert reply.lines == ["+CSQ: 20,99"]
    assert reply.value("+CSQ:") == "20,99"
    assert reports == ["^RSSI: 15", '^HCSQ: "LTE",50']


def test_error_finals_end_the_command(rig):
    modem, channel, _, _, _ = rig
    modem.answers["ATA"] = b"\r\n+CME ERROR: operation not allowed\r\n"
    reply = channel.command("ATA", timeout=2)
    assert not reply.ok
    assert reply.final == "+CME ERROR: operation not allowed"


@pytest.mark.parametrize("final", ["COMMAND NOT SUPPORT", "TOO MANY PARAMETERS", "COMMAND NOT SUPPORTED"])
def test_vendor_final_results_end_the_command_at_once(rig, final):
    """Huawei E1752 answers a command its firmware lacks with COMMAND NOT SUPPORT instead of ERROR."""
    modem, channel, _, _, _ = rig
    modem.answers["AT^CVOICE?"] = f"\r\n{final}\r\n".encode()
    started = time.monotonic()
    reply = channel.command("AT^CVOICE?", timeout=5)
    assert not reply.ok and reply.final == final
    assert time.monotonic() - started < 4  # ended by the reply, not by the timeout


def test_no_carrier_is_a_report_outside_call_commands_and_final_for_dial(rig):
    modem, channel, reports, _, _ = rig
    modem.answers["AT+CREG?"] = b"\r\nNO CARRIER\r\n+CREG: 1,1\r\nOK\r\n"
    reply = channel.command("AT+CREG?", timeout=2)
    assert reply.ok and reply.lines == ["+CREG: 1,1"]
    assert reports == ["NO CARRIER"]
    modem.answers["ATD+100;"] = b"\r\nBUSY\r\n"
    from appliance.modem.at import CALL_FINALS
    assert channel.command("ATD+100;", timeout=2, finals=CALL_FINALS).final == "BUSY"


def test_unanswered_command_times_out_and_the_next_one_works(rig):
    modem, channel, _, _, _ = rig
    with pytest.raises(AtTimeout, match="AT\\+CSQ"):
        channel.command("AT+CSQ", timeout=0.3)
    modem.answers["AT"] = b"\r\nOK\r\n"
    assert channel.command("AT", timeout=2).ok


def test_sms_text_goes_after_the_prompt_with_ctrl_z(rig):
    modem, channel, _, _, _ = rig
    modem.answers['AT+CMGS="+7916"'] = b"\r\n> "
    threading.Timer(0.3, lambda: modem.say(b"\r\n+CMGS: 7\r\n\r\nOK\r\n")).start()
    reply = channel.command('AT+CMGS="+7916"', timeout=3, payload="hello")
    assert reply.ok and reply.value("+CMGS:") == "7"
    assert bytes(modem.got).endswith(b"hello\x1a")


def test_reports_between_commands_reach_the_handler(rig):
    modem, _, reports, _, got = rig
    modem.say(b"\r\nRING\r\n\x00\xff\xfe\r\n")
    assert got.wait(2)
    assert reports[0] == "RING"


def test_port_vanishing_is_reported_once_and_fails_commands(rig):
    modem, channel, _, lost, _ = rig
    modem.vanish()
    with pytest.raises(PortLost):
        for _ in range(20):  # the loss may be noticed by the read or by the write
            channel.command("AT", timeout=0.2)
    # the waiting command is failed first, the loss reported just after on the reader thread (CI saw 0 here)
    wait_until(lambda: lost, timeout=5, what="the port's loss reported")
    channel.close()  # joins the reader: nothing more can be reported after this
    assert len(lost) == 1


def test_a_ring_and_its_caller_id_sent_together_are_one_read_and_the_ring_hook_runs_before_they_are_split(
        monkeypatch):
    """The reader waits for the port, then reads what is there: a RING with its +CLIP, written at once, is one
    read (a read of one byte while waiting, then another of the rest, cost the caller ~0.05 ms), and `on_ring`
    runs for that read before any of its lines is news."""
    from appliance.modem import at

    modem, seen, reads = FakeModem(), [], []
    port = serial.serial_for_url(modem.path, baudrate=115200, timeout=None)
    rang = threading.Event()

    def read_burst(port) -> bytes:  # what the reader reads of the port, read by read
        data = port_read(port)
        reads.append(data)
        return data
    port_read = at.read_burst
    monkeypatch.setattr(at, "read_burst", read_burst)

    def on_ring() -> None:
        seen.append("ring hook")
        rang.set()
        return None  # not answered: the read goes on at once

    channel = AtChannel(port, name="line t (pty)", is_report=lambda ln: ln.startswith(("RING", "+CLIP")),
                        on_report=seen.append, on_lost=lambda why: None, on_ring=on_ring)
    channel.start()
    try:
        modem.say(b'\r\nRING\r\n\r\n+CLIP: "+79161234567",145,"",0,"",0\r\n')
        assert rang.wait(2)
        wait_until(lambda: len(seen) == 3, 2, "the two reports")
        assert seen == ["ring hook", "RING", '+CLIP: "+79161234567",145,"",0,"",0']
        assert [r for r in reads if r] == [b'\r\nRING\r\n\r\n+CLIP: "+79161234567",145,"",0,"",0\r\n']
        modem.say(b"\r\n+CREG: 1\r\n")  # any other read: no hook
        wait_until(lambda: len(seen) == 4, 2, "the report")
        assert seen[-1] == "+CREG: 1"
    finally:
        channel.close()
        modem.vanish()


@pytest.mark.parametrize("modem_replies", [True, False])
def test_after_an_answer_at_the_ring_the_rest_of_the_read_waits_for_the_modem(modem_replies):
    """`on_ring` answered (it returns what is left to do about the RING): that rest runs, and then the rest of
    that read (the caller's number) is taken, once the modem replies to the ATA (in order before the reply) or
    after AFTER_ANSWER when it says nothing: the reader keeps off the CPU the ATA's way to the modem needs, and
    wakes no other thread meanwhile (docs/proof.md, issue 18 sixth and eighth sessions: answer)."""
    from appliance.modem.ring_first import AFTER_ANSWER

    modem, seen = FakeModem(), []
    port = serial.serial_for_url(modem.path, baudrate=115200, timeout=None)
    answered_at: list[float] = []

    def on_ring():
        answered_at.append(time.monotonic())
        if modem_replies:
            modem.say(b"\r\nOK\r\n")
        return lambda: on_report("what was left of the RING")

    def on_report(token) -> None:
        seen.append((token, time.monotonic()))

    channel = AtChannel(port, name="line t (pty)", is_report=lambda ln: ln.startswith(("RING", "+CLIP")),
                        on_report=on_report, on_lost=lambda why: None, on_ring=on_ring)
    channel.start()
    try:
        modem.say(b'\r\nRING\r\n\r\n+CLIP: "+79161234567",145,"",0,"",0\r\n')
        wait_until(lambda: len(seen) == (4 if modem_replies else 3), 2, "the reports")
        assert [token for token, _ in seen][:3] == ["what was left of the RING", "RING",
                                                    '+CLIP: "+79161234567",145,"",0,"",0']
        waited = seen[0][1] - answered_at[0]
        if modem_replies:
            assert seen[3][0] == "OK" and waited < 1.0
        else:
            assert waited >= AFTER_ANSWER * 0.9
    finally:
        channel.close()
        modem.vanish()
