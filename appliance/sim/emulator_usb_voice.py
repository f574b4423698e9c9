"""The emulated GSM modem's USB voice port: a second pseudo-terminal, as Huawei, SIMCom and Quectel have.

* Silent until the call's voice is switched there (the family's command, `switch_on`); what the host writes
  meanwhile is thrown away, as the modems do.
* Once on, every 20 ms it takes one 320-byte frame from the host (what the caller hears: `heard`) and sends
  one of the caller's (`caller_says`, `caller_presses`: keys as DTMF tones; silence when there is nothing).
* Off again at the call's end (`switch_off`).
* Faults: `silent` (the port never carries sound, like a stick whose firmware lacks voice) and
  `switch_delay` (the switch takes effect that long after the command, as some firmwares do).
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import threading
import time
import tty
from array import array
from collections.abc import Callable

FRAME_BYTES = 320
FRAME_SECONDS = 0.02
RATE = 8000
KEY_FREQUENCIES = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "A": (697, 1633),
    "4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "B": (770, 1633),
    "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "C": (852, 1633),
    "*": (941, 1209), "0": (941, 1336), "#": (941, 1477), "D": (941, 1633),
}


def key_tone(digit: str, seconds: float = 0.1, gap: float = 0.1, level_dbov: float = -10.0) -> bytes:
    """A DTMF key as a phone sends it: both tones at `level_dbov` each, then a pause."""
    low, high = KEY_FREQUENCIES[digit]
    amplitude = 32767 * 10 ** (level_dbov / 20)
    samples = array("h", (int(amplitude * (math.sin(2 * math.pi * low * n / RATE)
                                           + math.sin(2 * math.pi * high * n / RATE)))
                          for n in range(int(seconds * RATE))))
    return samples.tobytes() + b"\x00" * (2 * int(gap * RATE))


class UsbVoicePort:
    def __init__(self, link: str) -> None:
        self.link = link  # the port's path: a symlink to the pty of the moment (ModemEmulator says why)
        self.silent = False  # fault: switching is accepted but no sound ever flows
        self.switch_delay = 0.0  # fault: the switch takes effect this many seconds after the command
        self.on = False
        self.heard = bytearray()  # every frame the host sent while the voice was on
        self.switches: list[str] = []  # the commands that switched the voice on
        self._caller = bytearray()
        self._cond = threading.Condition()
        self._master: int | None = None
        self._slave: int | None = None
        self._path = ""
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    @property
    def port(self) -> str:
        return self.link

    def start(self) -> None:
        self._plug()

    def stop(self) -> None:
        self._unplug()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def unplug(self) -> None:
        """The stick drops off USB: the port's path goes away and the host's open port fails."""
        self._unplug()

    def replug(self) -> None:
        """Back, under a new pty path (the stable `link` follows it)."""
        self._plug()

    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave, self._path = master, slave, os.ttyname(slave)
        tmp = self.link + ".new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(self._path, tmp)
        os.replace(tmp, self.link)
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, name="emulator-voice-port", daemon=True)
        self._thread.start()

    def _unplug(self) -> None:
        self.switch_off()
        self._stopping = True
        self._poke()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.link)

    # --- the modem's side: switching ------------------------------------------------------

    def switch_on(self, command: str) -> None:
        """The host sent the family's switching command during a call."""
        def on() -> None:
            with self._cond:
                self.on = not self.silent
                self.switches.append(command)
                self._cond.notify_all()
            self._poke()

        if self.switch_delay > 0:
            self._timer = threading.Timer(self.switch_delay, on)
            self._timer.daemon = True
            self._timer.start()
        else:
            on()

    def switch_off(self) -> None:
        """The call ended (or the host switched the voice back): the port goes quiet."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        with self._cond:
            self.on = False
            self._caller.clear()
            self._cond.notify_all()
        self._poke()

    # --- the caller's side ----------------------------------------------------------------

    def caller_says(self, pcm: bytes) -> None:
        """Line audio (S16LE, 8 kHz) the caller says into the call, sent in the next frames."""
        with self._cond:
            self._caller += pcm

    def caller_presses(self, digits: str, seconds: float = 0.1) -> None:
        """Keys the caller presses, as tones in the audio (the modem itself reports nothing)."""
        self.caller_says(b"".join(key_tone(d, seconds) for d in digits))

    def wait(self, predicate: Callable[[UsbVoicePort], bool], timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    # --- the pty ---------------------------------------------------------------------------

    def _poke(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _serve(self) -> None:
        due = time.monotonic()
        while not self._stopping:
            master = self._master
            if master is None:
                return
            if not self.on:  # quiet: sleep until the host writes (thrown away) or the voice is switched on
                ready, _, _ = select.select([master, self._wake_r], [], [])
                if self._wake_r in ready:
                    os.read(self._wake_r, 64)
                if master in ready:
                    with contextlib.suppress(OSError):
                        os.read(master, 4096)
                due = time.monotonic()
                continue
            self._frame(master)
            due += FRAME_SECONDS
            ready, _, _ = select.select([self._wake_r], [], [], max(0.0, due - time.monotonic()))
            if ready:
                os.read(self._wake_r, 64)

    def _frame(self, master: int) -> None:
        """One 20 ms tick of the call: a frame from the host to the caller, one from the caller to the host."""
        try:
            got = os.read(master, FRAME_BYTES)
        except BlockingIOError:
            got = b""  # the host had nothing ready: the caller hears a gap
        except OSError:
            return
        with self._cond:
            self.heard += got
            chunk = bytes(self._caller[:FRAME_BYTES]).ljust(FRAME_BYTES, b"\x00")
            del self._caller[:FRAME_BYTES]
            self._cond.notify_all()
        with contextlib.suppress(OSError):
            os.write(master, chunk)


class UsbVoice:
    """The script's side of the LTE families' voice commands: switching the call's voice to USB, and VoLTE."""

    def __init__(self, dialect: str, port: UsbVoicePort | None) -> None:
        self.dialect = dialect
        self.port = port  # the USB voice port (Huawei, SIMCom, Quectel); None for the families without one
        self.uac_voice = False  # Quectel AT+QPCMV=1,2: the call's voice is on the modem's USB sound card
        self.volte = False  # IMS/VoLTE (Quectel AT+QCFG="ims", SIMCom AT+CIREG?): on after the enabling command
        # Quectel AT+QGPSCFG="outport": where GNSS sends NMEA. "usbnmea" (the EC25's factory setting) is the port
        # AT+QPCMV=1,0 makes the voice port, so a running GNSS would write its sentences into the call's audio.
        self.gnss_outport = "usbnmea"

    def reply(self, cmd: str, call_active: bool) -> tuple[str, ...] | None:
        """The reply to a voice-switching or VoLTE command; None when `cmd` is not one."""
        return self._switch_voice(cmd, call_active) or self._volte(cmd) or self._gnss(cmd)

    def _gnss(self, cmd: str) -> tuple[str, ...] | None:
        """Quectel AT+QGPSCFG="outport"[,"none"|"usbnmea"|"uartnmea"]: where NMEA sentences go."""
        if self.dialect != "quectel" or not cmd.startswith('AT+QGPSCFG="OUTPORT"'):
            return None
        value = cmd.removeprefix('AT+QGPSCFG="OUTPORT"').lstrip(",").strip('"').lower()
        if not value:
            return (f'+QGPSCFG: "outport","{self.gnss_outport}"', "OK")
        if value not in ("none", "usbnmea", "uartnmea"):
            return ("+CME ERROR: 501",)  # invalid parameter
        self.gnss_outport = value
        return ("OK",)

    def call_ended(self) -> None:
        """The call's voice leaves USB: the port goes quiet, the sound card is off."""
        self.uac_voice = False
        if self.port is not None:
            self.port.switch_off()

    def _volte(self, cmd: str) -> tuple[str, ...] | None:
        """IMS/VoLTE as the LTE families read and switch it (appliance/modem/volte.py)."""
        if self.dialect == "quectel" and cmd.startswith('AT+QCFG="IMS"'):
            if cmd.endswith(",1"):
                self.volte = True
                return ("OK",)
            return (f'+QCFG: "ims",{1 if self.volte else 2},{1 if self.volte else 0}', "OK")
        if self.dialect == "sim7600" and cmd in ("AT+CIREG?", "AT+CVOLTE=1"):
            if cmd == "AT+CVOLTE=1":
                self.volte = True
                return ("OK",)
            return (f"+CIREG: 0,{1 if self.volte else 0}", "OK")
        return None

    def _switch_voice(self, cmd: str, call_active: bool) -> tuple[str, ...] | None:
        """The families' commands that move a call's voice to USB (docs/modems.md); None: not one of them."""
        switching = {"huawei": ("AT^DDSETEX=2",), "sim7600": ("AT+CPCMREG=1", "AT+CPCMREG=0"),
                     "quectel": ("AT+QPCMV=1,0", "AT+QPCMV=1,2", "AT+QPCMV=0")}.get(self.dialect, ())
        if cmd not in switching:
            return None
        if not call_active:
            return ("ERROR",) if cmd != "AT+CPCMREG=0" else ("OK",)  # no call to carry
        if cmd in ("AT+CPCMREG=0", "AT+QPCMV=0"):
            self.call_ended()  # the voice goes back to the modem's own path, as at the call's end
        elif cmd == "AT+QPCMV=1,2":
            self.uac_voice = True
        elif self.port is not None:
            self.port.switch_on(cmd)
        return ("OK",)
