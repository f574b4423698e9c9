"""Operator handsets as the core sees them: ring, stop, connect a line, report the hook.

Two wirings are supported: `Handset` (a ring relay switching a ringer supply, a cradle switch,
an audio relay per line) and `SlicHandset` (an AG1171-class SLIC module per phone).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from appliance.config.handset_rules import Pin, check_cadence
from appliance.core.events import HookOff, HookOn
from appliance.handsets.parts import AudioRelay, HookSwitch, PresenceSwitch, RingRelay, SlicRinger

__all__ = [
    "AudioRelay",
    "Handset",
    "HookSwitch",
    "PresenceSwitch",
    "RingRelay",
    "SlicHandset",
    "SlicRinger",
    "HandsetSpec",
    "build_handset",
]

Post = Callable[[object], None]


class _Station:
    """What both wirings share: the hook, the audio relays, and the safety rules around ringing."""

    def __init__(
        self,
        handset_id: str,
        *,
        audio_pins: Mapping[str, Pin],
        cadence: Sequence[float],
        pin_factory: object,
        post: Post,
        active_high: bool,
        mute_pin: Pin | None = None,
    ) -> None:
        if not isinstance(handset_id, str) or not handset_id:
            raise ValueError(f"handset id {handset_id!r} must be a non-empty string")
        if not audio_pins:
            raise ValueError(f"handset {handset_id!r} needs an audio relay pin for at least one line")
        self.id = handset_id
        self.cadence = check_cadence(cadence)
        self._post = post
        self._lock = threading.Lock()
        self._ring_lock = threading.Lock()  # a lift landing while ring() starts must still stop the ringing
        self._connected: str | None = None
        self._closed = False
        self._parts: list[Any] = []  # closed in reverse order, also when a later part fails to build
        self._audio: dict[str, AudioRelay] = {}
        self._ringer: RingRelay | SlicRinger | None = None
        self._hook: HookSwitch | None = None
        self._pin_factory = pin_factory
        self._active_high = active_high
        self._audio_pins = dict(audio_pins)
        self._mute_pin = mute_pin
        self._mute: AudioRelay | None = None

    def _build(
        self,
        make_ringer: Callable[[], RingRelay | SlicRinger],
        hook_pin: Pin,
        lifted_when: str,
        bounce_time: float,
    ) -> None:
        try:
            self._ringer = self._add(make_ringer())
            for line, pin in self._audio_pins.items():
                self._audio[line] = self._add(
                    AudioRelay(pin, pin_factory=self._pin_factory, active_high=self._active_high)
                )
            if self._mute_pin is not None:  # energised cuts the microphone: off (the safe state) it is live
                self._mute = self._add(
                    AudioRelay(self._mute_pin, pin_factory=self._pin_factory, active_high=self._active_high))
            self._hook = self._add(
                HookSwitch(
                    hook_pin,
                    pin_factory=self._pin_factory,
                    bounce_time=bounce_time,
                    lifted_when=lifted_when,
                    when_lifted=self._lifted,
                    when_replaced=self._replaced,
                )
            )
        except BaseException:
            self._release()
            raise
        # A receiver left off at start must be known to the core, or it would be rung.
        if self._hook.is_lifted:
            self._post(HookOff(self.id))

    def _add(self, part: Any) -> Any:
        self._parts.append(part)
        return part

    @property
    def is_off_hook(self) -> bool:
        return self._hook is not None and self._hook.is_lifted

    @property
    def is_ringing(self) -> bool:
        return self._ringer is not None and self._ringer.is_ringing

    @property
    def connected_line(self) -> str | None:
        return self._connected

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(self._audio)

    def ring(self) -> None:
        """Ring with the cadence; a lifted receiver is never rung; ringing again keeps the rhythm."""
        with self._ring_lock:
            if self._closed or self.is_off_hook or self.is_ringing:
                return
            self._ringer.ring(self.cadence)

    def stop_ringing(self) -> None:
        with self._ring_lock:
            if self._ringer is not None:
                self._ringer.stop()

    def connect(self, line: str) -> None:
        """Put `line` on this handset; any other line it had is cut first (break before make)."""
        if line not in self._audio:
            raise ValueError(
                f"handset {self.id!r} has no audio relay for line {line!r} (has: {', '.join(self._audio)})"
            )
        with self._lock:
            if self._closed:
                return
            for other, relay in self._audio.items():
                if other != line:
                    relay.off()
            self._audio[line].on()
            self._connected = line

    def disconnect(self) -> None:
        with self._lock:
            for relay in self._audio.values():
                relay.off()
            self._connected = None

    @property
    def can_mute(self) -> bool:
        return self._mute is not None

    def mute(self, muted: bool) -> None:
        """Cut (or give back) the microphone: a supervisor listens without being heard (mute_pin wired)."""
        if self._mute is None:
            raise ValueError(f"handset {self.id!r} has no mute_pin: it cannot listen without being heard")
        with self._lock:
            if not self._closed:
                self._mute.on() if muted else self._mute.off()

    def off(self) -> None:
        """Every output off: the safe state (a mute relay off leaves the microphone live)."""
        self.stop_ringing()
        self.disconnect()
        if self._mute is not None:
            self._mute.off()

    def close(self) -> None:
        """off(), then give the pins back; safe to call twice."""
        if self._closed:
            return
        self.off()
        self._closed = True
        self._release()

    def _release(self) -> None:
        # The hook goes first so no report arrives from a handset that is half closed.
        for part in reversed(self._parts):
            part.close()
        self._parts.clear()

    def _lifted(self) -> None:
        # Ring trip: stop here, at once, rather than wait for the core's StopRinging, so no burst
        # of ring voltage reaches the operator's ear.
        self.stop_ringing()
        self._post(HookOff(self.id))

    def _replaced(self) -> None:
        self._post(HookOn(self.id))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} off_hook={self.is_off_hook} ringing={self.is_ringing}>"


class Handset(_Station):
    """A desk phone wired with a ring relay, a cradle switch to ground, and an audio relay per line."""

    def __init__(
        self,
        handset_id: str,
        *,
        ring_pin: Pin,
        hook_pin: Pin,
        audio_pins: Mapping[str, Pin],
        cadence: Sequence[float],
        pin_factory: object,
        post: Post,
        bounce_time: float = 0.03,
        active_high: bool = True,
        mute_pin: Pin | None = None,
    ) -> None:
        super().__init__(
            handset_id,
            audio_pins=audio_pins,
            cadence=cadence,
            pin_factory=pin_factory,
            post=post,
            active_high=active_high,
            mute_pin=mute_pin,
        )
        self._build(
            lambda: RingRelay(ring_pin, pin_factory=pin_factory, active_high=active_high),
            hook_pin,
            "low",
            bounce_time,
        )


class SlicHandset(_Station):
    """A desk phone on an AG1171-class SLIC: RM and F/R make ring voltage, SHK goes high off-hook."""

    def __init__(
        self,
        handset_id: str,
        *,
        ring_mode_pin: Pin,
        fr_pin: Pin,
        hook_pin: Pin,
        audio_pins: Mapping[str, Pin],
        cadence: Sequence[float],
        pin_factory: object,
        post: Post,
        ring_hz: float = 20.0,
        bounce_time: float = 0.03,
        active_high: bool = True,
        mute_pin: Pin | None = None,
    ) -> None:
        super().__init__(
            handset_id,
            audio_pins=audio_pins,
            cadence=cadence,
            pin_factory=pin_factory,
            post=post,
            active_high=active_high,
            mute_pin=mute_pin,
        )
        self._build(
            lambda: SlicRinger(ring_mode_pin, fr_pin, pin_factory=pin_factory, ring_hz=ring_hz),
            hook_pin,
            "high",
            bounce_time,
        )

    @property
    def ring_hz(self) -> float:
        return self._ringer.ring_hz


class HandsetSpec(Protocol):
    """What a handset is wired to and how it behaves: appliance.config's HandsetConfig, already checked."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def hook_pin(self) -> Pin: ...
    @property
    def audio_pins(self) -> Mapping[str, Pin]: ...
    @property
    def ring_pin(self) -> Pin | None: ...
    @property
    def ring_mode_pin(self) -> Pin | None: ...
    @property
    def fr_pin(self) -> Pin | None: ...
    @property
    def bounce_time(self) -> float: ...
    @property
    def mute_pin(self) -> Pin | None: ...
    @property
    def active_low(self) -> bool: ...
    @property
    def ring_hz(self) -> float: ...


def build_handset(spec: HandsetSpec, *, pin_factory: object, cadence: Sequence[float], post: Post
                  ) -> Handset | SlicHandset:
    """The handset one [[handsets]] table describes (docs/handsets.md)."""
    common: dict[str, Any] = {
        "hook_pin": spec.hook_pin,
        "audio_pins": dict(spec.audio_pins),
        "cadence": cadence,
        "pin_factory": pin_factory,
        "post": post,
        "bounce_time": spec.bounce_time,
        "active_high": not spec.active_low,
        "mute_pin": spec.mute_pin,
    }
    if spec.kind == "slic":
        if spec.ring_mode_pin is None or spec.fr_pin is None:
            raise ValueError(f"handset {spec.id!r} (slic) needs ring_mode_pin and fr_pin")
        return SlicHandset(spec.id, ring_mode_pin=spec.ring_mode_pin, fr_pin=spec.fr_pin, ring_hz=spec.ring_hz,
                           **common)
    if spec.ring_pin is None:
        raise ValueError(f"handset {spec.id!r} (relay) needs ring_pin")
    return Handset(spec.id, ring_pin=spec.ring_pin, **common)
