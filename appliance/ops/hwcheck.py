"""`hotline check` on the Pi: what hardware is really there, next to what the config expects.

Every finding says plainly what is missing or miswired and what to do about it. Ports are opened
exclusively and only briefly, so a running daemon's port is reported busy rather than disturbed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.modem.at import VENDOR_FINALS

SERIAL_PATTERNS = ("dev/ttyUSB*", "dev/ttyACM*", "dev/ttyAMA*", "dev/serial0", "dev/serial1",
                   "dev/serial/by-id/*", "dev/hotline/*")
AT_TIMEOUT = 1.0
THROTTLE_BITS = {
    0: "under-voltage now",
    1: "CPU frequency capped now",
    2: "throttled now",
    3: "soft temperature limit now",
    16: "under-voltage has occurred since boot",
    17: "CPU frequency capping has occurred since boot",
    18: "throttling has occurred since boot",
    19: "soft temperature limit has occurred since boot",
}
_CARD = re.compile(r"^\s*(\d+)\s+\[(\S+)\s*\]:\s*(.*)$")


@dataclass(frozen=True)
class Finding:
    what: str
    expected: str
    found: str
    ok: bool
    advice: str = ""


@dataclass(frozen=True)
class PortAnswer:
    answers: bool
    identity: str = ""
    dialect: str | None = None
    error: str = ""
    missing: tuple[str, ...] = ()  # capabilities the modem's firmware refused (voice)
    volte: str = ""  # the IMS/VoLTE state in words (appliance/modem/volte.py), and what --fix did about it
    remote: str = ""  # whether the modem can hold a caller and join calls: remote operators (core/remote.py)


PortOpener = Callable[[str], Any]


def probe(expected_ports: Mapping[str, str] | None = None, *, sys_root: Path = Path("/"),
          open_port: PortOpener | None = None, voice_ports: Mapping[str, str] | None = None,
          fix: bool = False, forwards: Mapping[str, tuple[str, tuple[str, ...]]] | None = None) -> list[Finding]:
    """Serial ports (and which answer AT), sound cards, GPIO chips and power, against the config's lines
    (`expected_ports`: line -> AT port; `voice_ports`: line -> USB voice port, for lines with audio = "serial";
    `forwards`: line -> (number, conditions) of its call forwarding, read back from the network).
    `fix`: switch VoLTE on where an LTE module has it off (the module restarts)."""
    sys_root = Path(sys_root)
    opener = open_port or _open_serial
    ports = serial_ports(sys_root)
    answers = {device: ask_port(device, opener, fix=fix) for device in ports}
    findings = [_port_finding(device, names, answers[device]) for device, names in ports.items()]
    findings += _expected_findings(expected_ports or {}, sys_root, ports, answers)
    findings += _voice_findings(voice_ports or {}, sys_root, answers)
    for line, (number, conditions) in (forwards or {}).items():
        port = (expected_ports or {}).get(line)
        device = str((sys_root / port.lstrip("/")).resolve()) if port and "://" not in port else None
        if device in answers and answers[device].answers:
            findings.append(forwarding_finding(line, number, conditions, device, opener))
    findings += [sound_cards(sys_root), gpio_chips(sys_root), power()]
    return findings


def answering_lines(findings: list[Finding]) -> list[str]:
    """The config's lines whose modem answered this check (so their remote operators' verdict is fresh)."""
    return [f.what.removeprefix("line ").removesuffix(" port") for f in findings
            if f.what.startswith("line ") and f.what.endswith(" port") and not f.what.endswith(" voice port")
            and f.found.startswith("answers AT")]


def serial_ports(sys_root: Path) -> dict[str, list[str]]:
    """Real device -> every name it is reachable by (ttyUSB2, its by-id link, /dev/hotline/...)."""
    found: dict[str, list[str]] = {}
    for pattern in SERIAL_PATTERNS:
        for path in sorted(sys_root.glob(pattern)):
            if not path.exists():
                continue  # a dangling link left by an unplugged modem
            device = str(path.resolve())
            found.setdefault(device, []).append("/" + str(path.relative_to(sys_root)))
    return found


def ask_port(device: str, open_port: PortOpener, *, fix: bool = False) -> PortAnswer:
    try:
        port = open_port(device)
    except OSError as exc:
        return PortAnswer(False, error=_open_error(exc))
    except Exception as exc:  # pyserial raises SerialException (not an OSError) for busy and missing ports
        return PortAnswer(False, error=_open_error(exc))
    try:
        port.reset_input_buffer()
        if not _command(port, b"AT\r").endswith("OK"):
            return PortAnswer(False)
        identity = " ".join(line for line in _command(port, b"ATI\r").splitlines()
                            if line and line not in ("OK", "ATI"))
        dialect = _detect(identity)
        return PortAnswer(True, identity, dialect, missing=_missing(port, dialect), volte=_volte(port, dialect, fix),
                          remote=_remote_operators(port, dialect))
    except Exception as exc:  # a port that vanishes mid-question is a finding, not a crash of `hotline check`
        return PortAnswer(False, error=f"failed while asking: {exc}")
    finally:
        port.close()


def forwarding_finding(line: str, number: str, conditions: tuple[str, ...], device: str,
                       open_port: PortOpener) -> Finding:
    """What the network has in force for the line's call forwarding (AT+CCFC queries only: nothing is set)."""
    from appliance.modem.at import Reply
    from appliance.modem.forwarding import NETWORK_TIMEOUT, query_forwarding

    def ask(text: str, timeout: float = NETWORK_TIMEOUT, **_: object) -> Reply:
        lines = _command(port, text.encode() + b"\r", timeout).splitlines()
        return Reply(text, lines[:-1], lines[-1] if lines else "no answer")

    what, expected = f"line {line} call forwarding", f"to {number} on {', '.join(conditions)}"
    try:
        port = open_port(device)
    except Exception as exc:  # busy: the daemon holds it, and its status shows the forwarding (the line page)
        return Finding(what, expected, _open_error(exc), False, "Stop the daemon to ask the network here.")
    try:
        found = query_forwarding(ask)
    finally:
        port.close()
    if isinstance(found, str):
        return Finding(what, expected, found, False, "Is the SIM registered? Some prepaid plans bar forwarding.")
    said = "; ".join(f"{c}: " + (f"to {f['number']}" if f["active"] else "off") for c, f in found.items())
    wrong = [c for c in conditions if not found[c]["active"] or
             "".join(filter(str.isdigit, found[c]["number"] or ""))[-10:] != "".join(filter(str.isdigit, number))[-10:]]
    return Finding(what, expected, said, not wrong,
                   "Start the daemon: it sets the forwarding at each start (docs/fleet.md)." if wrong else "")


def sound_cards(sys_root: Path) -> Finding:
    try:
        text = (sys_root / "proc/asound/cards").read_text(encoding="utf-8")
    except OSError:
        text = ""
    cards = [f"card {m[1]} {m[2]} ({m[3].strip()})" for m in map(_CARD.match, text.splitlines()) if m]
    if not cards:
        return Finding("sound cards", "a USB sound card for each line's audio", "none", False,
                       "No ALSA card: plug in the USB sound card, or use a modem with voice over USB.")
    return Finding("sound cards", "a USB sound card for each line's audio", "; ".join(cards), True,
                   "Name a card in the line's audio_out/audio_in as plughw:CARD=<name>.")


def gpio_chips(sys_root: Path) -> Finding:
    chips = sorted("/" + str(p.relative_to(sys_root)) for p in sys_root.glob("dev/gpiochip*"))
    if not chips:
        return Finding("GPIO", "/dev/gpiochip0 for the relays and hook switches", "none", False,
                       "No GPIO character device: this is not a Raspberry Pi, or the kernel is too old.")
    return Finding("GPIO", "/dev/gpiochip0 for the relays and hook switches", ", ".join(chips), True)


def power() -> Finding:
    command = shutil.which("vcgencmd")
    if command is None:
        return Finding("power", "no under-voltage or throttling", "not a Raspberry Pi (no vcgencmd)", True)
    try:
        out = subprocess.run([command, "get_throttled"], capture_output=True, text=True, timeout=5).stdout
        value = int(out.strip().split("=", 1)[1], 16)
    except (OSError, subprocess.SubprocessError, IndexError, ValueError):
        return Finding("power", "no under-voltage or throttling", "vcgencmd get_throttled gave no reading",
                       False, "Run `vcgencmd get_throttled` by hand; the user may need the video group.")
    problems = decode_throttled(value)
    if not problems:
        return Finding("power", "no under-voltage or throttling", f"fine (throttled={value:#x})", True)
    advice = "Use the official power supply and a powered USB hub for the modems; " \
             "under-voltage makes GSM sticks drop off USB during calls." if value & 0x10001 else \
             "Cool the Pi (case, heatsink, airflow)."
    return Finding("power", "no under-voltage or throttling", "; ".join(problems), False, advice)


def decode_throttled(value: int) -> list[str]:
    """`vcgencmd get_throttled` bits, in words."""
    return [text for bit, text in THROTTLE_BITS.items() if value & (1 << bit)]


def format_findings(findings: list[Finding]) -> str:
    out = []
    for f in findings:
        out.append(f"[{' ok ' if f.ok else 'FAIL'}] {f.what}: {f.found}")
        if not f.ok:
            out.append(f"       expected: {f.expected}")
        if f.advice and not f.ok:
            out.append(f"       -> {f.advice}")
    failures = sum(not f.ok for f in findings)
    out.append("All hardware found as expected." if failures == 0 else
               f"{failures} problem{'s' if failures > 1 else ''} found.")
    return "\n".join(out) + "\n"


# --- details ------------------------------------------------------------------------------------


def _open_serial(device: str) -> Any:
    import serial  # only `hotline check` needs it here

    return serial.Serial(device, 115200, timeout=0.2, write_timeout=AT_TIMEOUT, exclusive=True)


def _command(port: Any, command: bytes, timeout: float = AT_TIMEOUT) -> str:
    """Send one command; the reply's lines, up to a final result or `timeout`."""
    port.write(command)
    reply = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply += port.read(max(1, port.in_waiting))  # blocks up to the port's short timeout
        text = reply.decode("ascii", "replace").replace("\r", "\n")
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        if lines and (lines[-1] == "OK" or "ERROR" in lines[-1] or lines[-1] in VENDOR_FINALS):
            return "\n".join(lines)
    return ""


def _missing(port: Any, dialect: str | None) -> tuple[str, ...]:
    """Ask the family's capability queries (Huawei AT^CVOICE?: a data-only firmware has no voice); only
    queries, so the check changes nothing in the modem."""
    if dialect is None:
        return ()
    from appliance.modem.dialects import dialect_named

    family = dialect_named(dialect)
    missing = []
    for text in family.init_commands:
        capability = family.capability(text)
        if capability is None or not text.endswith("?"):
            continue
        reply = _command(port, text.encode() + b"\r")
        if not reply.endswith("OK"):
            missing.append(f"{capability} ({text} answered {(reply.splitlines() or ['nothing'])[-1]})")
    return tuple(missing)


def _volte(port: Any, dialect: str | None, fix: bool) -> str:
    """The module's VoLTE state in words; with `fix`, switched on where it is off (the module then restarts)."""
    from appliance.modem import volte

    query = volte.QUERIES.get(dialect or "")
    state = volte.read(dialect, _command(port, query.encode() + b"\r") if query else "")
    if not fix or state.state != "off" or dialect not in volte.ENABLE:
        return str(state)
    answers = []
    for text in volte.ENABLE[dialect]:
        reply = _command(port, text.encode() + b"\r").splitlines() or ["nothing"]
        answers.append(f"{text} -> {reply[-1]}")
    return f"{state}; --fix sent {'; '.join(answers)}: check again once the module has restarted"


def _remote_operators(port: Any, dialect: str | None) -> str:
    """Whether remote operators can be rung from this modem's line: 27.007 AT+CHLD=? lists the call-related
    supplementary services it offers; the box needs 2 (hold the caller) and 3 (conference) or 4 (explicit call
    transfer). A SIM whose network still refuses them is found on the first try and shown in the status."""
    if dialect == "v253":
        return "remote operators: no (an analogue line cannot hold a caller)"
    reply = _command(port, b"AT+CHLD=?\r")
    listed = next((line for line in reply.splitlines() if line.startswith("+CHLD:")), None)
    if listed is None:
        return f"remote operators: no (AT+CHLD=? answered {(reply.splitlines() or ['nothing'])[-1]})"
    services = {s.strip() for s in listed.removeprefix("+CHLD:").strip(" ()").split(",")}
    if "2" not in services or not {"3", "4"} & services:
        return f"remote operators: no (the modem offers no {'hold' if '2' not in services else 'way to join calls'}: " \
               f"{listed})"
    return "remote operators: yes (hold, " + " and ".join(
        word for key, word in (("3", "conference"), ("4", "transfer")) if key in services) + ")"


def _detect(identity: str) -> str | None:
    try:
        from appliance.modem.dialects import detect
    except ImportError:
        return None
    return detect(identity)


def _open_error(exc: Exception) -> str:
    text = str(exc)
    if "busy" in text.lower() or "lock" in text.lower():
        return "busy: another program (the hotline service?) has it open; stop it to probe this port"
    if "ermission" in text:
        return "permission denied: run as root or as a member of the dialout group"
    return f"cannot open: {text}"


def _port_finding(device: str, names: list[str], answer: PortAnswer) -> Finding:
    label = " = ".join(dict.fromkeys(names + [device]))
    if any(name.endswith("-audio") for name in names) and not answer.answers and not answer.error:
        return Finding(f"voice port {label}", "silent between calls", "silent", True,
                       "A modem's USB voice port (udev name /dev/hotline/<line>-audio): sound flows only in a call.")
    if answer.error:
        return Finding(f"serial port {label}", "answers AT", answer.error, False,
                       "Ports of one modem that do not speak AT (GPS, diagnostics, audio) are normal.")
    if not answer.answers:
        return Finding(f"serial port {label}", "answers AT", "silent", True,
                       "Not a modem's AT port (or a modem that is off, or at another baud rate).")
    dialect = answer.dialect or "unknown family (dialect = \"auto\" will not recognise it)"
    found = f"modem {answer.identity or '?'}; dialect {dialect}" + "".join(
        f"; {extra}" for extra in (answer.volte, answer.remote) if extra)
    if answer.missing:
        return Finding(f"serial port {label}", "answers AT", f"{found}; missing: {', '.join(answer.missing)}",
                       not any(m.startswith("voice") for m in answer.missing),
                       "A firmware without voice cannot carry a caller's audio: flash a voice-enabled firmware "
                       "or use another modem. The line still comes up, with the capability marked missing.")
    return Finding(f"serial port {label}", "answers AT", found, True)


def _expected_findings(expected: Mapping[str, str], sys_root: Path, ports: dict[str, list[str]],
                       answers: dict[str, PortAnswer]) -> list[Finding]:
    findings = []
    modems = [names[0] for device, names in ports.items() if answers[device].answers]
    for line, port in expected.items():
        what = f"line {line} port"
        if "://" in port:
            findings.append(Finding(what, port, "a pyserial URL, not probed", True))
            continue
        path = sys_root / port.lstrip("/")
        if not path.exists():
            hint = f" Modems answering AT: {', '.join(modems)}." if modems else " No modem answers AT at all."
            findings.append(Finding(what, port, "missing", False,
                                    "Check the modem is plugged in and powered (a Pi USB port often cannot "
                                    f"power a GSM stick), and the port name in the config.{hint}"))
            continue
        answer = answers.get(str(path.resolve()), PortAnswer(False, error="not a serial port"))
        if answer.answers:
            findings.append(Finding(what, port, f"answers AT ({answer.identity or 'modem'})", True))
        else:
            findings.append(Finding(what, port, answer.error or "present but does not answer AT", False,
                                    "Wrong port of the modem (use its AT port: /dev/hotline/<model>-at), "
                                    "wrong baud rate, or the modem is off (PWRKEY)."))
    return findings


def _voice_findings(expected: Mapping[str, str], sys_root: Path, answers: dict[str, PortAnswer]) -> list[Finding]:
    """Each line's voice port: there, and not a port that speaks AT (the AT port or another command port)."""
    findings = []
    for line, port in expected.items():
        what = f"line {line} voice port"
        if "://" in port:
            findings.append(Finding(what, port, "a pyserial URL, not probed", True))
            continue
        path = sys_root / port.lstrip("/")
        if not path.exists():
            findings.append(Finding(what, port, "missing", False,
                                    "Install the udev rules (deploy/udev) so the modem's voice port gets this name, "
                                    "or name the port itself (docs/modems.md lists the interface per model). A "
                                    "Huawei stick shows its voice port only with a voice-enabled firmware."))
            continue
        answer = answers.get(str(path.resolve()), PortAnswer(False, error="not a serial port"))
        if answer.answers:
            findings.append(Finding(what, port, f"answers AT ({answer.identity or 'modem'}): a command port", False,
                                    "That is an AT port, not the voice port: the voice port stays silent to AT. "
                                    "See docs/modems.md for the model's voice interface."))
        elif answer.error and not answer.error.startswith("busy"):
            findings.append(Finding(what, port, answer.error, False))
        else:
            findings.append(Finding(what, port, answer.error or "present, silent to AT", True))
    return findings
