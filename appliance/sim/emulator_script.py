"""What the emulated modem says: replies to commands and the reports of a call's life.

`Script` holds the modem's call state and its parts (the SIM and its network in emulator_network.py, stored SMS,
call forwarding, USB voice) and is driven by the emulator's pty thread and by tests; each family's own words
(identity, DTMF and call reports, boot) are its `Family` (emulator_families.py), the texts of the vendors' AT
manuals (see docs/modems.md).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from appliance.sim.emulator_families import DLE, FAMILIES
from appliance.sim.emulator_forwarding import CallForwards
from appliance.sim.emulator_network import Network
from appliance.sim.emulator_sms import Messages
from appliance.sim.emulator_usb_voice import UsbVoice, UsbVoicePort
from appliance.sim.emulator_voice import Voice


@dataclass(eq=False)
class Gate:
    """A command's reply held back: `reached` once the command came, `opened.set()` lets the reply go."""

    reached: threading.Event = field(default_factory=threading.Event)
    opened: threading.Event = field(default_factory=threading.Event)


class Script:
    def __init__(self, dialect: str, send: Callable[..., None], *, sim_pin: str | None = None,
                 usb_voice: UsbVoicePort | None = None) -> None:
        if dialect not in FAMILIES:
            raise ValueError(f"the emulator speaks {', '.join(FAMILIES)}, not {dialect!r}")
        self.dialect = dialect
        self.family = FAMILIES[dialect]
        self._send = send
        # A call's end (our ATH and its OK, or the caller's NO CARRIER) is written whole before the next call
        # may ring: a real network cannot present a call on a line that has not released the last one.
        self._exchange = threading.RLock()
        self.echo = True
        self.powered_off = False
        self.answer_error: str | None = None
        self.dial_outcome = "answer"  # answer | busy | no answer | failed | no dialtone | error | silent
        # How a dialled phone answers, by number (else dial_outcome): one of the dial outcomes, or a remote
        # operator picking up and then "accept" (presses 1), "decline" (presses 2) or "voicemail" (no key)
        self.phones: dict[str, str] = {}
        self.refuse: set[str] = set()  # supplementary services the network refuses: deflect, hold, ect, conference
        self.deflected: list[str] = []  # numbers ringing calls were deflected to (AT+CTFR)
        self.transferred: list[tuple[str, str]] = []  # (caller, number) joined by explicit call transfer
        self.conference = False
        self.held: str | None = None  # the party on hold (AT+CHLD=2)
        self.outgoing = False  # the current call was dialled by us
        self.unsupported: dict[str, str | None] = {}  # command -> its refusal (COMMAND NOT SUPPORT), None: silence
        self.clip = True  # False: the network sends no +CLIP (SIM800 still names the caller in +CLCC)
        self.crc = False  # AT+CRC=1 (27.007 6.11): an incoming call rings as +CRING: VOICE, not RING
        self.ring_period = 3.0
        self.caller_id_delay = 0.0  # V.253: caller ID this long after the first RING, only while still on-hook
        self.waiting: str | None = None  # a second caller waiting (call 2)
        self.rejected: list[str] = []  # waiting callers turned away with AT+CHLD=0
        self.call = "idle"  # idle | ringing | active | dialing
        self.caller: str | None = None
        self.answered: str | None = None  # the caller an ATA answered since their call was presented (None: no one)
        self.voice = Voice(send)  # AT+VSM/VTX/VRX; only a V.253 modem answers them
        self._ring_stop = threading.Event()
        self._timers: list[threading.Timer] = []
        # Its parts, which tests drive directly (script.messages.sent_sms, script.network.iccid):
        self.messages = Messages(send, self._later)  # SMS and USSD
        self.network = Network(send, self._later, sim_pin=sim_pin)  # the SIM and its registration
        self.usb = UsbVoice(dialect, usb_voice)  # the call's voice over USB, and VoLTE
        self.forwards = CallForwards()  # the network's call forwarding (AT+CCFC)
        self.gates: dict[str, Gate] = {}  # command -> the gate its next reply waits at (gate())

    # --- the call ------------------------------------------------------------------------

    def incoming_call(self, caller: str | None, busy_wait: float = 10.0) -> bool:
        """Present a call, as the network does: only once the line's previous call is released (the box's ATH
        reached the modem); a line still busy after busy_wait gives the caller a busy tone (returns False)."""
        deadline = time.monotonic() + busy_wait
        while True:  # the emulator is test equipment: a short poll keeps it simple
            with self._exchange:
                if self.call == "idle":
                    self.call, self.caller, self.outgoing, self.answered = "ringing", caller, False, None
                    self._ring_stop = threading.Event()
                    threading.Thread(target=self._ring, args=(self._ring_stop,), daemon=True,
                                     name="emulator-ring").start()
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)

    def _ring(self, stop: threading.Event) -> None:
        first = True
        while True:
            with self._exchange:  # RING and its caller ID go out together, never split by the call's end
                if stop.is_set() or self.call != "ringing":
                    return
                reports = ["+CRING: VOICE" if self.crc and self.family.gsm else "RING"]
                number = self.caller or ""
                if first and self.dialect == "sim800":  # AT+CLCC=1: the incoming call, with its number
                    reports.append(f'+CLCC: 1,1,4,0,0,"{number}",{145 if number.startswith("+") else 129},""')
                if self.family.gsm and self.clip:
                    validity = 0 if self.caller else 1
                    reports.append(f'+CLIP: "{number}",{145 if number.startswith("+") else 129 if number else 128},'
                                   f'"",0,"",{validity}')
                self._send(*reports, together=True)
            if first and not self.family.gsm:  # the exchange sends caller ID between the first and second ring
                if stop.wait(self.caller_id_delay):
                    return
                with self._exchange:
                    if self.call == "ringing":  # a line gone off-hook hears no caller ID
                        self._send("DATE = 0321", "TIME = 1405", f"NMBR = {self.caller or 'P'}")
            first = False
            if stop.wait(self.ring_period):
                return

    def waiting_call(self, caller: str) -> None:
        """A second caller while a call is up: +CCWA (and SIM800's +CLCC for call 2) until it is turned away."""
        with self._exchange:
            self.waiting = caller
            self._send(f'+CCWA: "{caller}",145,1')
            if self.dialect == "sim800":
                self._send(f'+CLCC: 2,1,5,0,0,"{caller}",145,""')

    def _reject_waiting(self) -> tuple[str, ...]:
        caller, self.waiting = self.waiting, None
        if caller is None:
            return ("OK",)
        self.rejected.append(caller)
        ended = {"sim800": (f'+CLCC: 2,1,6,0,0,"{caller}",145,""',), "huawei": ("^CEND:2,0,104,17",)}
        return ("OK",) + ended.get(self.dialect, ())

    def dtmf(self, digit: str) -> None:
        report = self.family.dtmf(digit)
        self._report(report)

    def remote_hangup(self, dropped: bool = False) -> None:
        with self._exchange:
            was = self.call
            self.reset_call()
            if was == "idle":
                return
            if was == "ringing" and self.family.gsm:
                self._send("NO CARRIER")
                return
            for report in self.family.dropped if dropped else self.family.ended:
                self._report(report.format(num=self.caller or "") if isinstance(report, str) else report)

    def reset_call(self) -> None:
        self._ring_stop.set()
        self.call = "idle"
        self.usb.call_ended()

    def _report(self, report: str | bytes) -> None:
        if isinstance(report, bytes):
            self._send(raw=report)
        else:
            self._send(report)

    def _later(self, delay: float, action: Callable[[], None]) -> None:
        timer = threading.Timer(delay, action)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self._ring_stop.set()

    # --- faults --------------------------------------------------------------------------

    def power_down(self, report: str) -> None:
        self.reset_call()
        self.voice.reset()
        self._send(report)
        self.powered_off = True

    def power_on(self) -> None:
        self.powered_off = False
        self.echo = True
        self.crc = False
        self.boot_reports()

    def boot_reports(self) -> None:
        self._send(*self.family.boot)

    def gate(self, command: str) -> Gate:
        """The next `command`'s reply waits until the test opens the gate: a network taking its time over it."""
        gate = self.gates[command.upper()] = Gate()
        return gate

    def command(self, line: str) -> None:
        cmd = line.upper()
        gate = self.gates.pop(cmd, None)
        if gate is not None:  # answered later, as things then stand; the host waits for it as for a slow network
            gate.reached.set()
            threading.Thread(target=lambda: gate.opened.wait(30) and self.command(line), daemon=True).start()
            return
        with self._exchange:
            reply = self._reply(line, cmd)
            if reply is not None:
                self._send(*reply)

    def _reply(self, line: str, cmd: str) -> tuple[str, ...] | None:  # noqa: C901 - one table of commands
        fam = self.family
        if cmd in self.unsupported:
            refusal = self.unsupported[cmd]
            return None if refusal is None else (refusal,)
        if fam.gsm and cmd in ("AT+CRC=0", "AT+CRC=1", "AT+CRC?"):
            if cmd == "AT+CRC?":
                return (f"+CRC: {int(self.crc)}", "OK")
            self.crc = cmd == "AT+CRC=1"
            return ("OK",)
        if cmd in ("ATZ", "AT&F"):  # back to the stored profile: the report formats too
            self.crc = False
            return ("OK",)
        if cmd in ("ATE0", "ATE1"):
            self.echo = cmd == "ATE1"
            return ("OK",)
        if cmd == "ATI":
            return fam.identity + ("OK",)
        if cmd in ("AT+CGMI", "AT+GMI"):
            return ((fam.cgmi, "OK") if fam.cgmi else ("ERROR",)) if cmd == "AT+CGMI" else ("CONEXANT", "OK")
        if cmd == "AT+CGMM":
            return (fam.cgmm, "OK") if fam.cgmm else ("ERROR",)
        if cmd.startswith(("AT+VSM", "AT+VTX", "AT+VRX")):
            return ("ERROR",) if fam.gsm else self.voice.command(cmd)
        if cmd == "AT+FCLASS=?":
            return ("0,1,1.0,2,8", "OK") if not fam.gsm else ("0", "OK")
        if not fam.gsm and cmd.startswith(("AT+C", "AT^", "AT+Q")):
            return ("ERROR",)
        network = self.network.reply(line, cmd)
        if network is not None:
            return network
        if cmd == "AT+CLCC":
            return self._list_calls()
        if cmd == "AT+CPAS":  # 27.007 phone activity: 0 ready, 3 ringing, 4 call in progress
            return (f"+CPAS: {({'ringing': 3, 'idle': 0}).get(self.call, 4)}", "OK")
        if cmd == "AT+CHLD=?":  # 27.007: the services this modem offers (those the network refuses left out)
            offered = [k for k, name in (("0", ""), ("1", ""), ("2", "hold"), ("3", "conference"), ("4", "ect"))
                       if name not in self.refuse]
            return (f"+CHLD: ({','.join(offered)})", "OK")
        if cmd == "AT+CHLD=0":
            return self._reject_waiting()
        if cmd.startswith("AT+CHLD="):
            return self._hold(line[8:].strip())
        if cmd.startswith("AT+CTFR="):
            if self.call != "ringing" or "deflect" in self.refuse:
                return ("+CME ERROR: 3",)
            self.deflected.append(line[8:].split(",")[0].strip('"'))
            self.reset_call()
            return ("OK",)
        if cmd in ("ATA", "AT+VLS=1") and (fam.gsm or cmd == "AT+VLS=1"):
            return self._answer()
        switched = self.usb.reply(cmd, self.call == "active")
        if switched is not None:
            return switched
        if cmd in ("ATH", "AT+CHUP", "AT+VLS=0", "ATH0"):
            was = self.call
            if was == "ringing" and not fam.gsm:
                return ("OK",)  # on-hook already: an analogue line rings on until it is answered or gives up
            self.reset_call()
            self.held = None
            if self.dialect == "huawei" and was != "idle":
                return ("OK", "^CEND:1,0,104,16")
            if self.dialect == "sim7600" and was == "active":
                return ("OK", "VOICE CALL: END: 000042")
            return ("OK",)
        if cmd.startswith("ATD"):
            return self._dial(line[3:].rstrip(";").lstrip("TtPp"))
        for part in (self.messages, self.forwards):
            message = part.reply(line, cmd)
            if message is not None:
                return message
        if cmd.startswith("AT+VTS"):
            return ("OK",)
        if cmd.endswith("?") or cmd == "AT+CLAC":
            return ("ERROR",)  # queries the emulator does not model
        if cmd.startswith("AT"):
            return ("OK",)  # settings the emulator accepts without modelling them
        return ("ERROR",)

    def _answer(self) -> tuple[str, ...]:
        if self.answer_error:
            return (self.answer_error,)
        if self.call != "ringing":
            return ("NO CARRIER",) if self.family.gsm else ("OK",)
        self._ring_stop.set()
        self.call, self.answered = "active", self.caller
        return ("OK",) + tuple(r.format(num=self.caller or "") for r in self.family.answered)

    def _dial(self, number: str) -> tuple[str, ...]:
        if not self.network.registered and self.family.gsm:
            return ("NO CARRIER",)
        outcome = self.phones.get(number, self.dial_outcome)
        key = {"accept": "1", "decline": "2"}.get(outcome)
        if outcome in ("accept", "decline", "voicemail"):
            outcome = "answer"
        if outcome == "no dialtone":
            return ("NO DIALTONE",)
        if outcome == "error":
            return ("+CME ERROR: 30",) if self.family.gsm else ("ERROR",)
        self.call, self.caller, self.outgoing = "dialing", number, True
        progress = {"huawei": ("^ORIG:1,0", "^CONF:1")}.get(self.dialect, ())

        def settle() -> None:
            if self.call != "dialing" or self.caller != number or outcome == "silent":
                return  # hung up meanwhile, or the far end rings on and on
            if outcome == "answer":
                self.call = "active"
                for report in self.family.answered:
                    self._send(report.replace(",1,0,0,0,", ",0,0,0,0,").format(num=number))
                if key is not None:  # the operator hears the whisper, then presses their key
                    self._later(0.5, lambda: self._press(number, key))
                return
            self.call = "idle"
            if not self.family.gsm:
                self._send(raw=DLE + (b"b" if outcome == "busy" else b"q"))
                return
            if self.dialect == "huawei":
                self._send(f"^CEND:1,0,104,{17 if outcome == 'busy' else 19 if outcome == 'no answer' else 21}")
            self._send({"busy": "BUSY", "no answer": "NO ANSWER"}.get(outcome, "NO CARRIER"))

        self._later(0.2, settle)
        return ("OK",) + progress

    def _press(self, number: str, key: str) -> None:
        with self._exchange:
            if self.call == "active" and self.caller == number:
                self.dtmf(key)

    def _list_calls(self) -> tuple[str, ...]:
        """AT+CLCC: the held party as call 1, the current call after it (stat 0 active, 2 dialling, 4 incoming)."""
        rows = []
        if self.held is not None:
            rows.append(f'+CLCC: 1,1,1,0,0,"{self.held}",129')
        states = {"active": 0, "ringing": 4, "dialing": 2}
        if self.call in states:
            rows.append(f'+CLCC: {len(rows) + 1},{0 if self.outgoing else 1},{states[self.call]},0,0,'
                        f'"{self.caller or ""}",129')
        return (*rows, "OK")

    def _hold(self, arg: str) -> tuple[str, ...]:
        """AT+CHLD (27.007 / 22.030): 1 drop the active call and take the held one back, 2 hold the active
        one (or take the held one back), 3 conference, 4 explicit call transfer."""
        refused = {"2": "hold", "3": "conference", "4": "ect"}.get(arg)
        if refused in self.refuse:
            return ("+CME ERROR: 3",)
        if arg == "1":
            self.call, self.outgoing = "idle", False
            if self.held is not None:
                self.call, self.caller, self.held = "active", self.held, None
            return ("OK",)
        if arg == "2":
            if self.call == "active" and self.held is None:
                self.held, self.call = self.caller, "idle"
            elif self.held is not None and self.call == "idle":
                self.call, self.caller, self.held = "active", self.held, None
            else:
                return ("+CME ERROR: 3",)
            return ("OK",)
        if arg in ("3", "4") and self.held is not None and self.call in ("active", "dialing"):
            if arg == "4":
                self.transferred.append((self.held, self.caller or ""))
                self.held, self.call, self.outgoing = None, "idle", False
            else:
                self.conference, self.held, self.call = True, None, "active"
            return ("OK",)
        return ("+CME ERROR: 3",)
