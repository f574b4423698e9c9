"""A modem on a real pseudo-terminal: pyserial opens its `port` exactly like /dev/ttyUSB2.

It speaks the AT text of the chosen family (see emulator_script.py) and injects the faults a field
modem shows: hung firmware, garbage bytes, USB unplug and return, power-down reports, SIM and
registration trouble, errors on ATA and calls dropped mid-menu.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import tempfile
import threading
import time
import tty
import weakref

from appliance.sim.emulator_script import Script
from appliance.sim.emulator_usb_voice import UsbVoicePort
from appliance.sim.emulator_voice import Voice

USB_VOICE = ("huawei", "sim7600", "quectel")


class ModemEmulator:
    def __init__(self, dialect: str = "sim800", *, link: str | None = None, sim_pin: str | None = None) -> None:
        """`port` is a stable symlink re-pointed at each new pty, as /dev/serial/by-id/... follows its device:
        `link` when given, else one in a directory of the emulator's own, removed by stop().

        Never the pty's own /dev/pts/N: the kernel gives the next pty made anywhere on the machine the lowest free
        number, so a program still retrying an unplugged or stopped emulator's /dev/pts/N opened the next
        emulator instead (another test's, in any process) and took its lock (docs/testing.md)."""
        self.dialect = dialect
        self._own_dir: str | None = None
        if link is None:
            self._own_dir = tempfile.mkdtemp(prefix="hotline-modem-")
            link = os.path.join(self._own_dir, "at")
            # and at the process's exit for one never stopped (a test that made it only for its script, a box
            # whose simulation was left to the exit): a leftover link would point at whatever pty comes next
            self._cleanup = weakref.finalize(self, shutil.rmtree, self._own_dir, ignore_errors=True)
        self.link = link
        self.received: list[str] = []
        self.received_at: list[float] = []  # time.monotonic() as each received command was read, for the bench
        self.ring_sent_at: list[float] = []  # time.monotonic() just before each RING (+CRING) was written
        # the families with a USB voice port get one: a second pty (`voice_port.port`), quiet until switched on
        self.voice_port = UsbVoicePort(link + "-audio") if dialect in USB_VOICE else None
        self.script = Script(dialect, self._send, sim_pin=sim_pin, usb_voice=self.voice_port)
        self.hung = False  # fault: the firmware stops answering commands
        self._deaf = False  # fault: the modem takes no more bytes (CTS held low): stop_taking_input
        self._deaf_r, self._deaf_w = os.pipe()  # wakes the pty thread to change what it watches
        self._cond = threading.Condition()
        self._carried_out = 0  # the first this many of `received` are carried out (one reader takes them in order)
        self._write_lock = threading.Lock()
        self._master: int | None = None
        self._slave: int | None = None
        self._slave_path = ""
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None
        self._stopping = False

    @property
    def port(self) -> str:
        return self.link

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        if self.voice_port is not None:
            self.voice_port.start()
        self._plug()

    def stop(self) -> None:
        self._stopping = True
        if self.voice_port is not None:
            self.voice_port.stop()
        self.script.cancel_timers()
        self.script.voice.reset()
        self._unplug()
        for fd in (self._wake_r, self._wake_w, self._deaf_r, self._deaf_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self._own_dir is not None:
            self._cleanup()

    def unplug(self) -> None:
        """The USB device vanishes: the port's path goes away and the open port fails."""
        self.script.cancel_timers()
        self.script.reset_call()
        self.script.voice.reset()
        self._unplug()
        if self.voice_port is not None:
            self.voice_port.unplug()

    def replug(self, *, voice_port: bool = True) -> None:
        """The device comes back, under a new pty path (the stable `link` follows it). voice_port=False: its
        voice port's interface is not back yet (the caller brings it with `voice_port.replug()`)."""
        if self.voice_port is not None and voice_port:
            self.voice_port.replug()
        self._plug()
        self.script.boot_reports()

    # --- the caller's side ---------------------------------------------------------------

    def incoming_call(self, caller: str | None, busy_wait: float = 10.0) -> bool:
        """Ring the box once its line is free; False when it stayed busy (the caller heard busy tone)."""
        return self.script.incoming_call(caller, busy_wait)

    def cancel_call(self) -> None:
        """The caller gives up while it still rings."""
        self.script.remote_hangup()

    def waiting_call(self, caller: str) -> None:
        """A second caller rings while a call is up (call waiting): the modem reports it as call 2."""
        self.script.waiting_call(caller)

    def report(self, *lines: str) -> None:
        """The modem says these lines unasked (reports the tests want to see read right)."""
        self._send(*lines)

    def send_dtmf(self, digits: str) -> None:
        for digit in digits:
            self.script.dtmf(digit)

    def remote_hangup(self) -> None:
        """The caller hangs up; a V.253 modem hears the exchange's busy tone: <DLE>b, even mid AT+VRX."""
        self.script.remote_hangup()

    @property
    def voice(self) -> Voice:
        """V.253 audio: `voice.transmissions` (each AT+VTX), `voice.caller_says(pcm)` (for AT+VRX)."""
        return self.script.voice

    def deliver_sms(self, sender: str, text: str, *, notify: bool = True) -> int:
        """An SMS arrives (+CMTI per part); `notify=False` stores it unannounced, as while the box was off."""
        return self.script.messages.deliver_sms(sender, text, notify=notify)

    # --- faults ---------------------------------------------------------------------------

    def send_garbage(self, data: bytes) -> None:
        self._write(data)

    def power_down(self, under_voltage: bool = False) -> None:
        self.script.power_down("UNDER-VOLTAGE POWER DOWN" if under_voltage else "NORMAL POWER DOWN")

    def power_on(self) -> None:
        """What pulsing PWRKEY does: the firmware boots again and answers."""
        self.hung = False
        self.script.power_on()

    def set_sim(self, state: str) -> None:
        """READY, SIM PIN, NOT READY...: what AT+CPIN? answers and +CPIN: reports."""
        self.script.network.set_sim(state)

    def set_registration(self, stat: int) -> None:
        """Reports +CREG: 0,<stat> and answers AT+CREG? with it (1 home, 2 searching, 3 denied)."""
        self.script.network.set_registration(stat)

    def fail_answer(self, error: str | None = "+CME ERROR: 3") -> None:
        """Make ATA answer with `error` (None: answer normally again)."""
        self.script.answer_error = error

    def drop_call(self) -> None:
        """The network drops the call mid-menu: only the family's call-end report says so."""
        self.script.remote_hangup(dropped=True)

    # --- what the line sent ---------------------------------------------------------------

    def wait_for(self, prefix: str, timeout: float) -> bool:
        """Block until a command starting with `prefix` has arrived (since start) and been carried out."""
        want = prefix.upper()
        with self._cond:
            return self._cond.wait_for(
                lambda: any(c.upper().startswith(want) for c in self.received[:self._carried_out]), timeout)

    def wait_count(self, prefix: str, n: int, timeout: float) -> bool:
        """Block until `n` commands starting with `prefix` have arrived (since start); False after `timeout` s."""
        want = prefix.upper()
        with self._cond:
            return self._cond.wait_for(lambda: sum(1 for c in self.received if c.upper().startswith(want)) >= n,
                                       timeout)

    def count(self, prefix: str) -> int:
        want = prefix.upper()
        with self._cond:
            return sum(1 for c in self.received if c.upper().startswith(want))

    # --- the pty --------------------------------------------------------------------------

    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)  # a line that stopped reading must not block the emulator
        self._master, self._slave = master, slave
        self._slave_path = os.ttyname(slave)
        tmp = self.link + ".new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(self._slave_path, tmp)
        os.replace(tmp, self.link)
        self._thread = threading.Thread(target=self._serve, args=(master,), name="modem-emulator", daemon=True)
        self._thread.start()

    def _unplug(self) -> None:
        master, slave, thread = self._master, self._slave, self._thread
        self._master = self._slave = None
        if thread is not None:
            os.write(self._wake_w, b"x")
            thread.join(2.0)
            with contextlib.suppress(OSError):
                os.read(self._wake_r, 64)
        for fd in (master, slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.link)

    def stop_taking_input(self) -> None:
        """The modem takes no more bytes, as one holding CTS low: the port's queue towards it is stuffed full, so
        the host's next write blocks. `take_input_again` throws the queue away and reads on."""
        self._deaf = True
        os.write(self._deaf_w, b"d")
        stuffing = os.open(self._slave_path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
        try:
            # To the last byte, a short command must not fit in what is left; the kernel moves queued bytes on to
            # the reading side's own buffer a moment later, so stuff again until the port stays full.
            while True:
                for size in (4096, 256, 16, 1):
                    with contextlib.suppress(BlockingIOError):
                        while True:
                            os.write(stuffing, b"\0" * size)
                if not select.select([], [stuffing], [], 0.25)[1]:
                    break
        finally:
            os.close(stuffing)

    def take_input_again(self) -> None:
        master = self._master
        with contextlib.suppress(BlockingIOError, OSError):
            while master is not None and os.read(master, 65536):
                pass
        self._deaf = False
        os.write(self._deaf_w, b"d")

    def _serve(self, master: int) -> None:
        pending = bytearray()
        while True:
            watched = [self._wake_r, self._deaf_r] + ([] if self._deaf else [master])
            ready, _, _ = select.select(watched, [], [])
            if self._wake_r in ready:
                return
            if self._deaf_r in ready:
                os.read(self._deaf_r, 64)
                continue
            if master not in ready:
                continue
            try:
                data = os.read(master, 4096)
            except BlockingIOError:
                continue
            except OSError:
                return
            arrived = time.monotonic()  # the command's time is when it was read, not once the lines before it are done
            pending.extend(data)
            while True:
                if self.script.voice.mode is not None:  # voice data: every byte is a sample, not AT text
                    if not pending:
                        break
                    del pending[:self.script.voice.feed(bytes(pending))]
                    continue
                if self.script.messages.awaiting_text:
                    end = pending.find(b"\x1a")
                    if end < 0:
                        break
                    text = bytes(pending[:end]).decode(errors="replace")
                    del pending[: end + 1]
                    self.script.messages.text_entered(text)
                    continue
                end = pending.find(b"\r")
                if end < 0:
                    break
                line = bytes(pending[:end]).decode(errors="replace").strip()
                del pending[: end + 1]
                if line:
                    self._command(line, arrived)

    def _command(self, line: str, arrived: float) -> None:
        with self._cond:  # in `received` before any reply: whatever the box did on the reply, it is there
            self.received.append(line)
            self.received_at.append(arrived)
        try:
            if not (self.hung or self.script.powered_off):
                if self.script.echo:
                    self._write(line.encode() + b"\r")
                self.script.command(line)
        finally:
            # wait_for() returns once it is carried out: whoever waited for ATA finds the call active and the OK
            # sent, not about to be (a test read the modem's state in between under load)
            with self._cond:
                self._carried_out += 1
                self._cond.notify_all()

    def _send(self, *lines: str, raw: bytes | None = None, together: bool = False) -> None:
        """`lines` written one by one, or with `together` in one write (a burst the host reads at once)."""
        if raw is not None:
            self._write(raw)
        burst = []
        for line in lines:
            if line in ("RING", "+CRING: VOICE"):
                # Stamped as it leaves: stamped after the write, a thread put off the CPU by the host it woke
                # stamped late, and the host's answer looked quicker than it was (bench/answer_latency.py).
                self.ring_sent_at.append(time.monotonic())
            if together:
                burst.append(b"\r\n" + line.encode() + b"\r\n")
            else:
                self._write(b"\r\n" + line.encode() + b"\r\n")
        if burst:
            self._write(b"".join(burst))

    def _write(self, data: bytes) -> None:
        with self._write_lock:
            master = self._master
            if master is None:
                return
            with contextlib.suppress(OSError):
                os.write(master, data)
