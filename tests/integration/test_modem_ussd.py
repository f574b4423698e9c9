"""The SIM balance by USSD: the three shapes modems answer in, and the periodic query through a line."""

from __future__ import annotations

import queue
import threading

import pytest

from appliance.core.events import LineUp
from appliance.modem import ussd
from appliance.modem.line import ModemLine
from appliance.sim.emulator import ModemEmulator


@pytest.mark.parametrize(("text", "dcs", "words"), [
    ("Balance: 100.00 r", 15, "Balance: 100.00 r"),  # SIM800 with AT+CSCS="GSM": plain text
    ("AA180C3602", 15, "*100#"),  # Huawei: GSM-7 packed into hex
    ("04110430043B0430043D04410020003500200440", 72, "Баланс 5 р"),  # UCS-2 hex (dcs 72)
    ("12345678", 15, "12345678"),  # digits only: plain text, not hex
    ("043F", 0x11, "п"),  # UCS-2 with a language
])
def test_every_shape_of_answer_is_read(text, dcs, words):
    assert ussd.decode(text, dcs) == words


@pytest.mark.parametrize("code", ["", "balance", "*100#; ATH", "*" * 40])
def test_a_bad_code_is_refused_by_name(code):
    with pytest.raises(ValueError, match="ussd_balance"):
        ModemLine("gsm1", "/dev/null", post=lambda e: None, dialect="sim800", ussd_balance=code)


def run_line(emu: ModemEmulator, **kw) -> tuple[ModemLine, queue.Queue]:
    events: queue.Queue = queue.Queue()
    line = ModemLine("gsm1", emu.port, post=events.put, dialect=emu.dialect, ussd_balance="*100#", **kw)
    line.start()
    assert events.get(timeout=10) == LineUp("gsm1")
    return line, events


def wait_for_balance(line: ModemLine, timeout: float = 10.0) -> dict:
    done = threading.Event()
    for _ in range(int(timeout / 0.1)):
        balance = line.status()["balance"]
        if balance["text"] is not None:
            return balance
        done.wait(0.1)
    raise AssertionError(f"no balance after {timeout} s: {line.status()['balance']}")


@pytest.mark.parametrize(("dialect", "shape", "reply"), [
    ("sim800", "text", "Balance: 100.00 r"),
    ("huawei", "packed", "Balance: 42.50 r"),
    ("sim7600", "ucs2", "Ваш баланс 73,20 р."),
])
def test_the_balance_is_read_after_start_and_shown_in_status(dialect, shape, reply):
    emu = ModemEmulator(dialect)
    emu.script.messages.ussd_format = shape
    emu.script.messages.ussd_reply = reply
    emu.start()
    line, _ = run_line(emu)
    try:
        balance = wait_for_balance(line)
        assert balance["text"] == reply
        assert balance["read_at"] > 1.7e9 and balance["code"] == "*100#"
        assert emu.script.messages.ussd_codes == ["*100#"]
        assert emu.count("AT+CUSD=2") == 0  # the network closed the session itself
    finally:
        line.close()
        emu.stop()


def test_a_session_left_open_is_cancelled():
    emu = ModemEmulator("sim800")
    emu.script.messages.ussd_open = True
    emu.start()
    line, _ = run_line(emu)
    try:
        assert wait_for_balance(line)["text"] == "Balance: 100.00 r"
        assert emu.wait_for("AT+CUSD=2", 5)
    finally:
        line.close()
        emu.stop()


def test_the_balance_is_asked_again_every_period():
    emu = ModemEmulator("sim800")
    emu.start()
    line, _ = run_line(emu, ussd_period=0.3)
    try:
        wait_for_balance(line)
        emu.script.messages.ussd_reply = "Balance: 99.00 r"
        waited = threading.Event()
        for _ in range(100):
            if line.status()["balance"]["text"] == "Balance: 99.00 r":
                break
            waited.wait(0.1)
        assert line.status()["balance"]["text"] == "Balance: 99.00 r"
        assert len(emu.script.messages.ussd_codes) >= 2
    finally:
        line.close()
        emu.stop()


def test_without_a_code_no_ussd_is_sent():
    emu = ModemEmulator("sim800")
    emu.start()
    events: queue.Queue = queue.Queue()
    line = ModemLine("gsm1", emu.port, post=events.put, dialect="sim800")
    try:
        line.start()
        assert events.get(timeout=10) == LineUp("gsm1")
        assert line.status()["balance"] is None
        assert emu.count("AT+CUSD") == 0
    finally:
        line.close()
        emu.stop()
