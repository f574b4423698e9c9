"""`hotline check` against a staged /dev and /proc, with modems played on real pseudo-terminals."""

from __future__ import annotations

import os
import threading
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.ops.hwcheck import decode_throttled, format_findings, probe

CARDS = """ 0 [Headphones     ]: bcm2835_headpho - bcm2835 Headphones
                      bcm2835 Headphones
 1 [Device         ]: USB-Audio - USB PnP Sound Device
                      C-Media Electronics Inc. USB PnP Sound Device at usb-3f980000.usb-1.2, full speed
"""


class PtyModem:
    """A modem on a real pty: answers AT and ATI like a SIM800 (or stays silent)."""

    def __init__(self, identity: str | None, replies: dict[bytes, bytes] | None = None) -> None:
        self.replies = replies or {}  # other commands -> what the modem answers
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        self._slave = slave
        self._identity = identity
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        buffer = b""
        while True:
            try:
                data = os.read(self.master, 256)
            except OSError:
                return
            buffer += data
            while b"\r" in buffer:
                command, buffer = buffer.split(b"\r", 1)
                if self._identity is None:
                    continue
                if command == b"AT":
                    os.write(self.master, b"AT\r\r\nOK\r\n")
                elif command == b"ATI":
                    os.write(self.master, f"ATI\r\r\n{self._identity}\r\n\r\nOK\r\n".encode())
                elif command in self.replies:
                    os.write(self.master, command + b"\r\r\n" + self.replies[command] + b"\r\n")

    def close(self) -> None:
        os.close(self.master)
        os.close(self._slave)


@pytest.fixture
def pi(tmp_path: Path) -> Iterator[tuple[Path, PtyModem, PtyModem]]:
    """A staged root: a SIM800 on ttyUSB0 (also by-id), a silent GPS port on ttyUSB1, cards, a GPIO chip."""
    modem, gps = PtyModem("SIM800 R14.18", {b"AT+CHLD=?": b"+CHLD: (0,1,1x,2,2x,3,4)\r\nOK"}), PtyModem(None)
    dev = tmp_path / "dev"
    (dev / "serial/by-id").mkdir(parents=True)
    (dev / "ttyUSB0").symlink_to(modem.path)
    (dev / "ttyUSB1").symlink_to(gps.path)
    (dev / "serial/by-id/usb-1a86_USB_Serial-if00-port0").symlink_to("../../ttyUSB0")
    (dev / "serial/by-id/usb-unplugged-if00-port0").symlink_to("../../ttyUSB9")
    (dev / "gpiochip0").touch()
    (tmp_path / "proc/asound").mkdir(parents=True)
    (tmp_path / "proc/asound/cards").write_text(CARDS)
    yield tmp_path, modem, gps
    modem.close()
    gps.close()


@pytest.fixture
def no_vcgencmd(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))


def _by_what(findings) -> dict[str, object]:
    return {f.what: f for f in findings}


def test_modem_is_found_once_under_all_its_names_with_its_dialect(pi, no_vcgencmd) -> None:
    root, modem, gps = pi
    findings = _by_what(probe(sys_root=root))
    modem_finding = next(f for w, f in findings.items() if "/dev/ttyUSB0" in w)
    assert "/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0" in modem_finding.what
    assert modem_finding.ok
    assert modem_finding.found == ("modem SIM800 R14.18; dialect sim800; VoLTE none (a 2G-only module: no LTE, "
                                   "so no calls once 2G/3G is switched off); remote operators: yes (hold, "
                                   "conference and transfer)")
    gps_finding = next(f for w, f in findings.items() if "/dev/ttyUSB1" in w)
    assert gps_finding.found == "silent"
    assert sum("serial port" in w for w in findings) == 2  # the dangling by-id link is not a port


def test_a_huawei_firmware_without_voice_is_a_finding(tmp_path: Path, no_vcgencmd) -> None:
    """E1752 data firmwares answer the voice probe with COMMAND NOT SUPPORT (a final result, not a timeout)."""
    modem = PtyModem("Manufacturer: huawei Model: E1752", {b"AT^CVOICE?": b"COMMAND NOT SUPPORT"})
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev/ttyUSB2").symlink_to(modem.path)
    try:
        finding = next(f for f in probe(sys_root=tmp_path) if "/dev/ttyUSB2" in f.what)
    finally:
        modem.close()
    assert not finding.ok
    assert finding.found.startswith("modem Manufacturer: huawei Model: E1752; dialect huawei; VoLTE none")
    assert finding.found.endswith("; missing: voice (AT^CVOICE? answered COMMAND NOT SUPPORT)")
    assert "voice-enabled firmware" in finding.advice


def test_expected_ports_are_compared_with_what_answers(pi, no_vcgencmd) -> None:
    root, _, _ = pi
    expected = {"gsm1": "/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0", "gsm2": "/dev/ttyUSB1",
                "gsm3": "/dev/hotline/sim7600-at", "sim": "sim://sim800"}
    findings = _by_what(probe(expected, sys_root=root))
    assert findings["line gsm1 port"].ok
    assert not findings["line gsm2 port"].ok
    assert "does not answer AT" in findings["line gsm2 port"].found
    assert "AT port" in findings["line gsm2 port"].advice
    gsm3 = findings["line gsm3 port"]
    assert (gsm3.ok, gsm3.found) == (False, "missing")
    assert "/dev/ttyUSB0" in gsm3.advice  # names the modem that does answer, so the fix is obvious
    assert findings["line sim port"].ok


def test_sound_cards_gpio_and_a_plain_report(pi, no_vcgencmd) -> None:
    root, _, _ = pi
    findings = probe({"gsm2": "/dev/ttyUSB1"}, sys_root=root)
    by_what = _by_what(findings)
    assert "card 1 Device (USB-Audio - USB PnP Sound Device)" in by_what["sound cards"].found
    assert by_what["GPIO"].found == "/dev/gpiochip0"
    assert by_what["power"].found == "not a Raspberry Pi (no vcgencmd)"
    report = format_findings(findings)
    assert "[FAIL] line gsm2 port: present but does not answer AT" in report
    assert report.rstrip().endswith("1 problem found.")


def test_a_bare_machine_says_what_is_missing(tmp_path: Path, no_vcgencmd) -> None:
    by_what = _by_what(probe({"gsm1": "/dev/ttyUSB2"}, sys_root=tmp_path))
    assert not by_what["sound cards"].ok and "USB sound card" in by_what["sound cards"].advice
    assert not by_what["GPIO"].ok
    assert "No modem answers AT" in by_what["line gsm1 port"].advice


def test_a_port_that_cannot_be_opened_is_reported_not_raised(pi, no_vcgencmd) -> None:
    root, _, _ = pi

    def busy(device: str):
        raise OSError(16, f"could not open port {device}: [Errno 16] Device or resource busy")

    findings = _by_what(probe({"gsm1": "/dev/ttyUSB0"}, sys_root=root, open_port=busy))
    assert findings["line gsm1 port"].found.startswith("busy")


def _fake_vcgencmd(tmp_path: Path, monkeypatch, output: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "vcgencmd").write_text(f"#!/bin/sh\necho '{output}'\n")
    (bin_dir / "vcgencmd").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))


def test_under_voltage_is_reported_with_advice(tmp_path: Path, monkeypatch) -> None:
    _fake_vcgencmd(tmp_path, monkeypatch, "throttled=0x50005")
    power = _by_what(probe(sys_root=tmp_path))["power"]
    assert not power.ok
    assert power.found.startswith("under-voltage now; throttled now; under-voltage has occurred since boot")
    assert "power supply" in power.advice


def test_a_healthy_pi_reports_fine_power(tmp_path: Path, monkeypatch) -> None:
    _fake_vcgencmd(tmp_path, monkeypatch, "throttled=0x0")
    assert _by_what(probe(sys_root=tmp_path))["power"].ok


def test_throttled_bits_in_words() -> None:
    assert decode_throttled(0) == []
    assert decode_throttled(0x80008) == ["soft temperature limit now",
                                         "soft temperature limit has occurred since boot"]


def test_each_lines_voice_port_is_checked_missing_or_a_command_port(pi, no_vcgencmd) -> None:
    root, modem, gps = pi
    (root / "dev/hotline").mkdir()
    (root / "dev/hotline/gsm1-audio").symlink_to(gps.path)  # silent to AT, as a voice port is between calls
    (root / "dev/hotline/gsm2-audio").symlink_to(modem.path)  # answers AT: the AT port named as the voice port
    voice = {"gsm1": "/dev/hotline/gsm1-audio", "gsm2": "/dev/hotline/gsm2-audio", "gsm3": "/dev/hotline/gsm3-audio"}
    findings = probe({"gsm1": "/dev/ttyUSB0"}, sys_root=root, voice_ports=voice)
    by_what = _by_what(findings)
    assert by_what["line gsm1 voice port"].ok
    wrong = by_what["line gsm2 voice port"]
    assert not wrong.ok and "AT port, not the voice port" in wrong.advice
    missing = by_what["line gsm3 voice port"]
    assert (missing.ok, missing.found) == (False, "missing") and "udev" in missing.advice
    listed = next(f for f in findings if "/dev/hotline/gsm1-audio" in f.what and f.what.startswith("voice port"))
    assert listed.ok and listed.found == "silent"


def test_volte_is_read_per_lte_module_and_fix_switches_it_on(tmp_path: Path, no_vcgencmd) -> None:
    """The emulated modems on real ptys: Quectel answers AT+QCFG="ims", SIM7600 AT+CIREG?; a 3G stick has no LTE."""
    from appliance.sim.emulator import ModemEmulator

    modems = {"ttyUSB2": ModemEmulator("quectel"), "ttyUSB5": ModemEmulator("sim7600"),
              "ttyUSB8": ModemEmulator("huawei")}
    (tmp_path / "dev").mkdir()
    for name, modem in modems.items():
        modem.start()
        (tmp_path / "dev" / name).symlink_to(modem.port)
    try:
        def found() -> dict[str, str]:
            return {name: next(f.found for f in probe(sys_root=tmp_path) if f"/dev/{name}" in f.what)
                    for name in modems}

        before = found()
        assert 'VoLTE off (AT+QCFG="ims": IMS switched off)' in before["ttyUSB2"]
        assert "VoLTE off (AT+CIREG?: not registered to IMS)" in before["ttyUSB5"]
        assert "VoLTE none (a 3G-only stick: no LTE" in before["ttyUSB8"]
        fixed = {f.what: f.found for f in probe(sys_root=tmp_path, fix=True)}
        assert any('--fix sent AT+QCFG="ims",1 -> OK' in text for text in fixed.values())
        assert modems["ttyUSB5"].count("AT+CVOLTE=1") == 1 and modems["ttyUSB2"].count("AT+CFUN=1,1") == 1
        after = found()
        assert "VoLTE on" in after["ttyUSB2"] and "VoLTE on (AT+CIREG?: registered to IMS)" in after["ttyUSB5"]
        assert modems["ttyUSB8"].count("AT+CVOLTE") == 0, "nothing is sent to a modem without LTE"
    finally:
        for modem in modems.values():
            modem.stop()


def test_the_check_says_whether_a_modem_can_hold_and_join_calls_for_remote_operators(tmp_path: Path,
                                                                                     no_vcgencmd) -> None:
    """AT+CHLD=? on the emulated modems: one offers hold and both ways of joining, one refuses hold."""
    from appliance.sim.emulator import ModemEmulator

    modems = {"ttyUSB2": ModemEmulator("sim800"), "ttyUSB5": ModemEmulator("sim800")}
    modems["ttyUSB5"].script.refuse.add("hold")
    (tmp_path / "dev").mkdir()
    for name, modem in modems.items():
        modem.start()
        (tmp_path / "dev" / name).symlink_to(modem.port)
    try:
        found = {name: next(f.found for f in probe(sys_root=tmp_path) if f"/dev/{name}" in f.what) for name in modems}
        assert "remote operators: yes (hold, conference and transfer)" in found["ttyUSB2"]
        assert "remote operators: no (the modem offers no hold: +CHLD: (0,1,3,4))" in found["ttyUSB5"]
    finally:
        for modem in modems.values():
            modem.stop()
