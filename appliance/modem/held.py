"""What the core hears of a line's new call, held while its ATA is out, and the caller's number journalled
meanwhile: a part Calls (calls.py) owns, under Calls' lock.

Until a new call's ATA is answered, what the core hears of the call waits with it: waking the event loop (and
its write of the record) must not compete with the ATA for the CPU. The answer journal covers a crash meanwhile,
and gets the caller's number as soon as the ATA has had its way to the modem.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

from appliance.core.events import IncomingCall


class Held:
    """`post` tells the core, `clock()` is the line's, `call_id()` the call's now; `note(call_id, number)` is the
    answer exchange's journal note (answer.py), given once Calls has made the exchange (which takes this part's
    steps). `rang_at` is when the call now answered rang (Calls sets it)."""

    def __init__(self, *, lock: threading.RLock, post: Callable[[object], None], clock: Callable[[], float],
                 call_id: Callable[[], str | None]) -> None:
        self._lock = lock
        self._post = post
        self._clock = clock
        self._call_id = call_id
        self.note: Callable[[str | None, str | None], None]
        self.events: list[object] | None = None
        self.rang_at = 0.0
        self._unnoted: tuple[str | None, str] | None = None  # (call id, number) heard while its ATA was out
        self._number_at_once = False  # the ATA now out has had its way to the modem: a number is journalled as read

    def hold(self) -> None:
        """What the core hears of the call waits from now until `announced` (an answer is under way)."""
        with self._lock:
            if self.events is None:
                self.events = []

    def say(self, event: object) -> None:
        with self._lock:
            if self.events is not None:
                self.events.append(event)
            else:
                self._post(event)

    def number(self, call_id: str | None, number: str) -> None:
        """The caller's number, heard while the call is held (under the lock): the journal's record gets it too, as
        soon as the ATA has had its way to the modem: once the reader has given way after an ATA it wrote at the
        RING (the +CLIP read with that RING is split only then), once the ATA is answered (`announced`), or once
        the modem is seen taking its time over it (NUMBER_GRACE), whichever is first. Sealed on the reader just
        after the ATA's write, it took the CPU the ATA's way needs; left until the reply, a crash inside a real
        modem's ATA (hundreds of ms) left the record without the number."""
        if self._number_at_once:
            self.note(call_id, number)
        else:
            self._unnoted = (call_id, number)

    def announced(self) -> None:
        """The ATA is answered (or will not be sent): the core hears what was held back, in order."""
        with self._lock:
            held, self.events = self.events, None
            self._number_at_once = False
            unnoted, self._unnoted = self._unnoted, None
            if unnoted is not None:  # before its call is announced: the record (and so the settling) comes after
                self.note(*unnoted)
            for event in held or ():
                if isinstance(event, IncomingCall) and event.call_id == self._call_id():
                    event = dataclasses.replace(event, waited=round(self._clock() - self.rang_at, 3))
                self._post(event)

    def note_number_at_once(self) -> None:
        """The ATA has had its way to the modem (the reader gave way after writing it at the RING), or the modem has
        not answered it yet (answer.NUMBER_GRACE): the number heard so far goes into the journal now, and one heard
        later as soon as it is, so a crash before the reply still leaves it."""
        with self._lock:
            if self.events is None:
                return  # announced meanwhile: the number went in with it
            self._number_at_once = True
            unnoted, self._unnoted = self._unnoted, None
            if unnoted is not None:
                self.note(*unnoted)
