"""Which call each line carries, and whether the line can carry one: the one table every part asks."""

from __future__ import annotations

from collections.abc import Iterable

from .call import Call


class Lines:
    def __init__(self, lines: Iterable[str]) -> None:
        self.calls: dict[str, Call | None] = dict.fromkeys(lines)
        self.state: dict[str, str] = dict.fromkeys(self.calls, "starting")
        self.reason: dict[str, str | None] = dict.fromkeys(self.calls)
        # line -> the call id whose remote operator it dials (core/remote.py): busy, yet no call of its own
        self.lent: dict[str, str] = {}
        self.bridgeable: set[str] = set(self.calls)  # lines whose audio the box can carry to another line

    def call_on(self, line: str) -> Call | None:
        return self.calls.get(line)

    def by_id(self, call_id: str | None) -> Call | None:
        if call_id is None:
            return None
        return next((c for c in self.calls.values() if c is not None and c.id == call_id), None)

    def live(self) -> list[Call]:
        return [c for c in self.calls.values() if c is not None]

    def is_free(self, line: str) -> bool:
        """Up, with no call of its own and not lent to another call."""
        return self.calls[line] is None and self.state[line] == "up" and line not in self.lent

    def free(self) -> str | None:
        """A line that is up and carries no call, for dialling out."""
        return next((n for n in self.calls if self.is_free(n)), None)

    def take(self, call: Call, avoid: Iterable[str] = ()) -> str | None:
        """A free line (none of `avoid`) becomes the call's, for dialling out; None when there is none."""
        line = next((n for n in self.calls if self.is_free(n) and n not in avoid), None)
        if line is not None:
            self.calls[line], call.line = call, line
        return line

    def lendable(self, call: Call) -> str | None:
        """A free line to dial the call's remote operator from, its audio then bridged to the caller's line."""
        if call.line not in self.bridgeable:
            return None
        return next((n for n in self.calls if self.is_free(n) and n in self.bridgeable and n != call.line), None)

    def lend(self, call: Call) -> str | None:
        line = self.lendable(call)
        if line is not None:
            self.lent[line] = call.id
        return line

    def give_back(self, line: str) -> None:
        self.lent.pop(line, None)

    def release(self, call: Call) -> None:
        """The call no longer holds its line (a call that already lost it to a newer one changes nothing)."""
        if call.line and self.calls.get(call.line) is call:
            self.calls[call.line] = None
