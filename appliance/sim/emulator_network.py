"""What the emulated modem says about its SIM and the network it is registered on (27.007: +CPIN, +CSQ,
+CREG/+CEREG, +COPS, +CNUM, the SIM's identity).

A part owned by the emulator's Script, as its messages and call forwarding are: it is given the Script's `send`
(write to the host) and `later` (run after a delay, cancelled with the Script's timers). The call side reads
only `registration` (a modem off the network cannot dial); tests set the rest (a SIM swapped, a weak signal).
"""

from __future__ import annotations

from collections.abc import Callable


class Network:
    def __init__(self, send: Callable[..., None], later: Callable[[float, Callable[[], None]], None], *,
                 sim_pin: str | None = None) -> None:
        self._send = send
        self._later = later
        self.sim_pin = sim_pin
        self.sim_state = "SIM PIN" if sim_pin else "READY"
        self.registration = 1
        self.signal = 20
        self.operator = "MTS RUS"
        self.iccid = "8970101000000000017"  # the SIM's; a test swaps the SIM by changing it
        self.own_number: str | None = None  # the SIM's own number (AT+CNUM); None: the SIM does not store it
        self.urc_before_csq: tuple[str, ...] = ()  # reports slipped into the +CSQ reply (Huawei ^RSSI)
        self.lte_only = False  # registered over LTE only: +CREG says 0, +CEREG the real state

    @property
    def registered(self) -> bool:
        """Home (1) or roaming (5): what a call needs."""
        return self.registration in (1, 5)

    def set_sim(self, state: str) -> None:
        self.sim_state = state
        self._send(f"+CPIN: {state}")

    def set_registration(self, stat: int) -> None:
        self.registration = stat
        self._send(f"+CEREG: {stat}" if self.lte_only else f"+CREG: {stat}")

    def reply(self, line: str, cmd: str) -> tuple[str, ...] | None:  # noqa: C901 - one table of queries
        """The reply to a SIM or network command; None for any other command."""
        if cmd == "AT+CPIN?":
            return (f"+CPIN: {self.sim_state}", "OK") if self.sim_state != "NO SIM" else ("+CME ERROR: 10",)
        if cmd.startswith("AT+CPIN="):
            if self.sim_pin and line[8:].strip('"') == self.sim_pin:
                self.sim_state = "READY"
                self._later(0.05, lambda: self._send("+CPIN: READY"))
                return ("OK",)
            return ("+CME ERROR: 16",)
        if cmd == "AT+CSCA?":
            return ('+CSCA: "+79168999100",145', "OK")
        if cmd == "AT+CFUN?":
            return ("+CFUN: 1", "OK")
        if cmd == "AT+CSQ":
            return self.urc_before_csq + (f"+CSQ: {self.signal},99", "OK")
        if cmd == "AT+CREG?":
            return (f"+CREG: 1,{0 if self.lte_only else self.registration}", "OK")
        if cmd == "AT+CEREG?" and self.lte_only:
            return (f"+CEREG: 1,{self.registration}", "OK")
        if cmd == "AT+COPS?":
            return (f'+COPS: 0,0,"{self.operator}",0', "OK") if self.registered else ("+COPS: 0", "OK")
        if cmd in ("AT+CGSN", "AT+GSN"):
            return ("866000000000001", "OK")
        if cmd == "AT+CNUM":  # 27.007: the subscriber's own number, if the SIM stores it
            return ((f'+CNUM: "","{self.own_number}",{145 if self.own_number.startswith("+") else 129}',)
                    if self.own_number else ()) + ("OK",)
        if cmd == "AT+CIMI":
            return ("250010000000001", "OK") if self.sim_state == "READY" else ("+CME ERROR: 10",)
        if cmd in ("AT+CCID", "AT+CICCID", "AT+QCCID", "AT^ICCID?"):  # each family's own ICCID command
            return ({"AT+CCID": ""}.get(cmd, cmd[2:].rstrip("?") + ": ") + self.iccid, "OK")
        return None
