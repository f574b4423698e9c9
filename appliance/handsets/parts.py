"""The physical parts wired to a Pi for one handset: ringers, switches and relays, on gpiozero's pins.

They drive the pins through appliance/pins.py, not gpiozero's device classes (see appliance/handsets/__init__.py).

Every part takes the pin factory as an argument (the daemon passes the real one, tests pass
gpiozero's MockFactory); nothing here sets gpiozero's global Device.pin_factory.
"""

from __future__ import annotations

import abc
import logging
import threading
import time
from collections.abc import Callable, Sequence

from gpiozero.exc import PinPWMUnsupported

from appliance.config.handset_rules import BOUNCE_TIME, RING_HZ, Pin, check_cadence
from appliance.pins import Input, Output, PwmOutput

Callback = Callable[[], None]
log = logging.getLogger(__name__)


def _nothing() -> None:
    pass


class _CadencePlayer(abc.ABC):
    """Plays a cadence (on, off, on, off ... seconds) in a background thread until stopped."""

    def __init__(self) -> None:
        self._control = threading.Lock()  # serialises ring() and stop(), which come from several threads
        self._output = threading.Lock()  # no burst may start after stop() has turned the output off
        self._stopped = threading.Event()
        self._stopped.set()
        self._thread: threading.Thread | None = None

    @property
    def is_ringing(self) -> bool:
        return not self._stopped.is_set()

    def ring(self, cadence: Sequence[float]) -> None:
        """Ring following `cadence` from its first "on" part, until stop()."""
        cadence = check_cadence(cadence)
        with self._control:
            self._stop_locked()
            stopped = self._stopped = threading.Event()
            self._thread = threading.Thread(
                target=self._play, args=(cadence, stopped), daemon=True, name="ring"
            )
            self._thread.start()

    def stop(self) -> None:
        """Silence at once; returns after the ring thread has ended."""
        with self._control:
            self._stop_locked()

    def _stop_locked(self) -> None:
        with self._output:
            self._stopped.set()
            self._sound(False)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._thread = None

    def _play(self, cadence: tuple[float, ...], stopped: threading.Event) -> None:
        try:
            self._follow(cadence, stopped)
        except Exception:
            # A pin that failed mid-ring must not leave ring voltage on the line.
            log.exception("ringing failed; switching the ringer off")
            with self._output:
                stopped.set()
                self._sound(False)

    def _follow(self, cadence: tuple[float, ...], stopped: threading.Event) -> None:
        # Deadlines from one start time, so thread wake-up delays do not add up over a long ring.
        deadline = time.monotonic()
        while True:
            for index, seconds in enumerate(cadence):
                deadline += seconds
                if index % 2 == 0:
                    if self._burst(deadline, stopped):
                        return
                elif self._set(False, stopped) or stopped.wait(max(0.0, deadline - time.monotonic())):
                    return

    def _burst(self, deadline: float, stopped: threading.Event) -> bool:
        """Make ring voltage until `deadline`; True when stopped meanwhile."""
        return self._set(True, stopped) or stopped.wait(max(0.0, deadline - time.monotonic()))

    def _set(self, on: bool, stopped: threading.Event) -> bool:
        with self._output:
            if stopped.is_set():
                return True
            self._sound(on)
            return False

    @abc.abstractmethod
    def _sound(self, on: bool) -> None:
        """Switch the ringer's output on or off."""


class RingRelay(_CadencePlayer):
    """A relay switching the ringer supply onto a handset's line."""

    def __init__(self, pin: Pin, *, pin_factory: object, active_high: bool = True) -> None:
        super().__init__()
        self._relay = Output(pin, pin_factory=pin_factory, active_high=active_high)

    def _sound(self, on: bool) -> None:
        self._relay.switch(on)

    def close(self) -> None:
        self.stop()
        self._relay.close()


class SlicRinger(_CadencePlayer):
    """The ringing side of an AG1171-class SLIC.

    Ring voltage is made by holding RM (ring mode) high and toggling F/R at `ring_hz`; the
    datasheet asks for RM to be low at all other times. F/R is driven by PWM where the pin
    backend has it, else toggled by the ring thread.
    """

    def __init__(
        self, ring_mode_pin: Pin, fr_pin: Pin, *, pin_factory: object, ring_hz: float = 20.0
    ) -> None:
        super().__init__()
        if isinstance(ring_hz, bool) or not isinstance(ring_hz, int | float) or not RING_HZ[0] <= ring_hz <= RING_HZ[1]:
            raise ValueError(f"ring_hz {ring_hz!r} must be a number from {RING_HZ[0]:g} to {RING_HZ[1]:g}")
        self.ring_hz = float(ring_hz)
        self._ring_mode = Output(ring_mode_pin, pin_factory=pin_factory)
        try:
            self._fr: Output | PwmOutput = PwmOutput(fr_pin, pin_factory=pin_factory, frequency=self.ring_hz)
            self.uses_pwm = True
        except PinPWMUnsupported:
            self._fr = Output(fr_pin, pin_factory=pin_factory)
            self.uses_pwm = False
        except Exception:
            self._ring_mode.close()
            raise

    def _sound(self, on: bool) -> None:
        if on:
            self._ring_mode.switch(True)
            self._drive_fr(True)
        else:
            self._drive_fr(False)
            self._ring_mode.switch(False)

    def _drive_fr(self, high: bool) -> None:
        """F/R high (a 50 % square wave at ring_hz where it is PWM) or low."""
        if isinstance(self._fr, PwmOutput):
            self._fr.duty(0.5 if high else 0.0)
        else:
            self._fr.switch(high)

    def _burst(self, deadline: float, stopped: threading.Event) -> bool:
        if self.uses_pwm:
            return super()._burst(deadline, stopped)
        half_period = 0.5 / self.ring_hz
        next_toggle = time.monotonic()
        level = True
        while True:
            with self._output:
                if stopped.is_set():
                    return True
                self._ring_mode.switch(True)
                self._drive_fr(level)
            next_toggle = min(next_toggle + half_period, deadline)
            if stopped.wait(max(0.0, next_toggle - time.monotonic())):
                return True
            if next_toggle >= deadline:
                return False
            level = not level

    def close(self) -> None:
        self.stop()
        self._fr.close()
        self._ring_mode.close()


class AudioRelay:
    """A relay that puts one line's audio on one handset: closed = that handset hears that line."""

    def __init__(self, pin: Pin, *, pin_factory: object, active_high: bool = True) -> None:
        self._relay = Output(pin, pin_factory=pin_factory, active_high=active_high)

    def on(self) -> None:
        self._relay.switch(True)

    def off(self) -> None:
        self._relay.switch(False)

    def close(self) -> None:
        self._relay.switch(False)
        self._relay.close()


class _DebouncedInput:
    """A switch input reported only once it has settled for `bounce_time` seconds.

    Debounced here rather than by gpiozero's bounce_time: backends differ (RPi.GPIO drops the
    edges that follow the first, which can leave the last state unreported; MockPin ignores it).
    After the first edge the pin is read once `bounce_time` later, so a burst of edges gives at
    most one report and a glitch that returns to the old state gives none.
    """

    def __init__(
        self,
        pin: Pin,
        *,
        pin_factory: object,
        active_when: str,
        bounce_time: float,
        when_active: Callback | None,
        when_inactive: Callback | None,
    ) -> None:
        if active_when not in ("low", "high"):
            raise ValueError(f"active_when {active_when!r} must be 'low' or 'high'")
        if (
            isinstance(bounce_time, bool)
            or not isinstance(bounce_time, int | float)
            or not BOUNCE_TIME[0] <= bounce_time <= BOUNCE_TIME[1]
        ):
            low, high = BOUNCE_TIME
            raise ValueError(f"bounce_time {bounce_time!r} must be seconds from {low:g} to {high:g}")
        self._bounce_time = float(bounce_time)
        self._when_active = when_active or _nothing
        self._when_inactive = when_inactive or _nothing
        self._lock = threading.Lock()
        self._notify = threading.Lock()  # reports leave in the order the pin settled
        self._timer: threading.Timer | None = None
        self._closed = False
        # A closed-to-ground switch uses the pull-up; a driven logic output gets a pull-down so an
        # unpowered module reads inactive.
        self._device = Input(pin, pin_factory=pin_factory, pull_up=active_when == "low", on_edge=self._edge)
        self._active = self._device.is_active

    @property
    def is_active(self) -> bool:
        return self._active

    def _edge(self) -> None:
        with self._lock:
            if self._timer is not None or self._closed:
                return
            self._timer = threading.Timer(self._bounce_time, self._settle)
            self._timer.daemon = True
            self._timer.start()

    def _settle(self) -> None:
        with self._notify:
            with self._lock:
                self._timer = None
                if self._closed or self._device.is_active == self._active:
                    return
                self._active = not self._active
                active = self._active
            (self._when_active if active else self._when_inactive)()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        self._device.close()


class HookSwitch(_DebouncedInput):
    """A handset's cradle switch; by default it closes to ground when the receiver is lifted."""

    def __init__(
        self,
        pin: Pin,
        *,
        pin_factory: object,
        bounce_time: float = 0.03,
        lifted_when: str = "low",
        when_lifted: Callback | None = None,
        when_replaced: Callback | None = None,
    ) -> None:
        super().__init__(
            pin,
            pin_factory=pin_factory,
            active_when=lifted_when,
            bounce_time=bounce_time,
            when_active=when_lifted,
            when_inactive=when_replaced,
        )

    @property
    def is_lifted(self) -> bool:
        return self.is_active


class PresenceSwitch(_DebouncedInput):
    """A switch at an operator's desk (key switch, seat or badge contact) closing to ground while present."""

    def __init__(
        self,
        pin: Pin,
        *,
        pin_factory: object,
        bounce_time: float = 0.05,
        when_present: Callback | None = None,
        when_absent: Callback | None = None,
    ) -> None:
        super().__init__(
            pin,
            pin_factory=pin_factory,
            active_when="low",
            bounce_time=bounce_time,
            when_active=when_present,
            when_inactive=when_absent,
        )

    @property
    def is_present(self) -> bool:
        return self.is_active
