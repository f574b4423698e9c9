"""The whole box on virtual hardware: modem emulators on pseudo-terminals, mock pins, null audio.

Everything else is the real daemon; the simulation only stands in for the
things a laptop lacks, and lets a person (or a test) play caller and operator.
"""

from __future__ import annotations

import copy
import math
import threading
from array import array
from typing import Any

from .. import handsets  # noqa: F401 - before gpiozero loads: see appliance/handsets/__init__.py
from .emulator import ModemEmulator


class SimulatedMicrophone:
    """What the simulated caller says into the line: silence, unless someone makes them speak.

    ALSA's `null` capture hands back stale buffer memory rather than silence, so the simulation
    supplies the caller's side itself, with the same read() as a pyalsaaudio capture PCM.
    """

    def __init__(self, period_frames: int) -> None:
        self.period_frames = period_frames
        self._pending = bytearray()
        self._lock = threading.Lock()

    def speak(self, seconds: float, rate: int = 8000) -> None:
        """A voice-like sound (a 220 Hz tone with harmonics) for this long."""
        samples = (int(6000 * (math.sin(2 * math.pi * 220 * n / rate) + 0.5 * math.sin(2 * math.pi * 440 * n / rate)))
                   for n in range(int(seconds * rate)))
        with self._lock:
            self._pending += array("h", samples).tobytes()

    def say(self, pcm: bytes) -> None:
        """Line audio (S16LE at the line rate) the caller says next: keys as tones, a recording."""
        with self._lock:
            self._pending += pcm

    def read(self) -> tuple[int, bytes]:
        size = self.period_frames * 2
        with self._lock:
            chunk, self._pending[:size] = bytes(self._pending[:size]), b""
        return self.period_frames, chunk.ljust(size, b"\x00")

    def close(self) -> None:
        pass


class Simulation:
    def __init__(self, document: dict[str, Any], *, audio_device: str = "null") -> None:
        from gpiozero.pins.mock import MockFactory, MockPWMPin

        self.document = copy.deepcopy(document)
        self.pin_factory = MockFactory(pin_class=MockPWMPin)
        self.emulators: dict[str, ModemEmulator] = {}
        self.microphones: dict[str, SimulatedMicrophone] = {}
        for line in self.document.get("lines", []):
            emulator = ModemEmulator(line.get("dialect", "sim800") if line.get("dialect") != "auto" else "sim800")
            emulator.start()
            self.emulators[line["id"]] = emulator
            line["port"] = emulator.port
            line["audio_out"] = audio_device
            line["audio_in"] = f"sim:{line['id']}"
            if line.get("audio") == "serial" and emulator.voice_port is not None:
                line["audio_port"] = emulator.voice_port.port  # the emulated modem's own voice port
        self._hooks = {h["id"]: h for h in self.document.get("handsets", [])}

    def close(self) -> None:
        for emulator in self.emulators.values():
            emulator.stop()

    def daemon(self, config: Any, data_dir: Any) -> Any:
        """The real daemon, wired to this simulation's pins, modems and microphones."""
        from ..service.daemon import Daemon

        daemon = Daemon(config, data_dir=data_dir, pin_factory=self.pin_factory, open_capture=self.open_capture)
        daemon.commands.update(self.commands())
        return daemon

    def open_capture(self, device: str, rate: int, period_frames: int) -> SimulatedMicrophone:
        """The daemon's capture opener: each line hears its simulated caller.

        One microphone per line for the simulation's life, as a real line's caller goes on talking while the
        box's capture is closed between recordings: a caller who speaks as a recording starts, before the
        capture thread has opened it again, is heard in it (a new microphone per open lost that speech, and
        with it the message, when the thread was slow to open: a loaded machine)."""
        line = device.removeprefix("sim:")
        held = self.microphones.get(line)
        if held is None or held.period_frames != period_frames:
            self.microphones[line] = held = SimulatedMicrophone(period_frames)
        return held

    def commands(self) -> dict[str, Any]:
        """Control-socket commands that play the caller and the operators."""
        return {
            "sim.call": self._call,
            "sim.dtmf": lambda a: self._line(a).send_dtmf(str(a["digits"])) or {"sent": a["digits"]},
            "sim.hangup": lambda a: self._line(a).remote_hangup() or {"hung_up": True},
            "sim.speak": self._speak,
            "sim.offhook": lambda a: self._hook(a, lifted=True),
            "sim.onhook": lambda a: self._hook(a, lifted=False),
            "sim.phone": self._phone,
            "sim.sms": self._sms,
        }

    def _sms(self, args: dict[str, Any]) -> dict[str, Any]:
        """A simulated caller texts the box (the text line, docs/texts.md)."""
        sender, text = args.get("sender"), args.get("text")
        if not isinstance(sender, str) or not sender.lstrip("+").isdigit():
            raise ValueError(f"sender {sender!r} is not a phone number")
        if not isinstance(text, str) or not text or len(text) > 1600:
            raise ValueError("text must be 1 to 1600 characters")
        return {"stored_at": self._line(args).deliver_sms(sender, text)}

    PHONE_ANSWERS = ("accept", "decline", "voicemail", "busy", "no answer", "silent")

    def _phone(self, args: dict[str, Any]) -> dict[str, Any]:
        """How a remote operator's phone answers when the box dials it: on every simulated line."""
        number, answer = args.get("number"), args.get("answer")
        if not isinstance(number, str) or not number.lstrip("+").isdigit():
            raise ValueError(f"number {number!r} is not a phone number")
        if answer not in self.PHONE_ANSWERS:
            raise ValueError(f"answer must be one of {', '.join(self.PHONE_ANSWERS)}, not {answer!r}")
        for emulator in self.emulators.values():
            emulator.script.phones[number] = answer
        return {"phone": number, "answer": answer}

    def _line(self, args: dict[str, Any]) -> ModemEmulator:
        line = args.get("line") or next(iter(self.emulators))
        if line not in self.emulators:
            raise LookupError(f"no simulated line {line!r}")
        return self.emulators[line]

    def _call(self, args: dict[str, Any]) -> dict[str, Any]:
        emulator = self._line(args)
        # The network rings a line only once its last call is released: wait for that off the daemon's loop.
        threading.Thread(target=emulator.incoming_call, args=(args.get("caller"),), daemon=True).start()
        return {"ringing": True}

    def _speak(self, args: dict[str, Any]) -> dict[str, Any]:
        seconds = args.get("seconds", 3)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds <= 60:
            raise ValueError("seconds must be a number from 0 to 60")
        line = args.get("line") or next(iter(self.emulators))
        if line not in self.microphones:
            raise LookupError(f"no simulated line {line!r}")
        self.microphones[line].speak(float(seconds))
        return {"speaking": seconds}

    def _hook(self, args: dict[str, Any], *, lifted: bool) -> dict[str, Any]:
        spec = self._hooks.get(args.get("handset"))
        if spec is None:
            raise LookupError(f"no handset {args.get('handset')!r}")
        pin = self.pin_factory.pin(spec["hook_pin"])
        # A cradle switch closes to ground when lifted; a SLIC's switch-hook output goes high instead.
        low = lifted if spec.get("kind", "relay") == "relay" else not lifted
        pin.drive_low() if low else pin.drive_high()
        return {"handset": spec["id"], "off_hook": lifted}
