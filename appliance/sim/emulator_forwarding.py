"""The emulated network's call forwarding (3GPP TS 27.007 7.11 +CCFC), as a GSM modem relays it.

Registration (mode 3) or enabling (1) keeps the number per reason and activates it; disabling (0) keeps the
number inactive; erasure (4) forgets it; a query (2) answers one +CCFC line for voice, as networks do:
`+CCFC: 1,1,"+7...",145` (with the no-reply time for reason 2) or `+CCFC: 0,1` when none is active.
Reasons 4 (all) and 5 (all conditional) act on the conditional reasons 1-3 (and 0 for 4).
"""

from __future__ import annotations

from appliance.modem.dialects.base import fields

ERROR = ("+CME ERROR: 30",)  # no network service


class CallForwards:
    def __init__(self) -> None:
        self.rules: dict[int, dict] = {}  # reason -> {"number", "type", "time", "active"}
        self.refused = False  # the network refuses supplementary services (tests set it)
        self.commands: list[str] = []  # every +CCFC the box sent, in order

    def reply(self, line: str, cmd: str) -> tuple[str, ...] | None:
        if not cmd.startswith("AT+CCFC="):
            return None
        self.commands.append(line)
        if self.refused:
            return ERROR
        parts = fields(line[8:])
        if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit() or int(parts[0]) > 5:
            return ("+CME ERROR: 50",)  # incorrect parameters
        reason, mode = int(parts[0]), int(parts[1])
        reasons = {4: (0, 1, 2, 3), 5: (1, 2, 3)}.get(reason, (reason,))
        if mode == 2:
            return (*self._query(reasons[0]), "OK")
        for each in reasons:
            if mode in (1, 3):
                number = parts[2] if len(parts) > 2 and parts[2] else self.rules.get(each, {}).get("number")
                if number is None:
                    return ("+CME ERROR: 50",)
                time = int(parts[7]) if len(parts) > 7 and parts[7].isdigit() else 20
                self.rules[each] = {"number": number, "type": parts[3] if len(parts) > 3 and parts[3] else "145",
                                    "time": time, "active": True}
            elif mode == 0 and each in self.rules:
                self.rules[each]["active"] = False
            elif mode == 4:
                self.rules.pop(each, None)
        return ("OK",)

    def _query(self, reason: int) -> tuple[str, ...]:
        rule = self.rules.get(reason)
        if rule is None or not rule["active"]:
            return ("+CCFC: 0,1",)
        time = f',,,{rule["time"]}' if reason == 2 else ""
        return (f'+CCFC: 1,1,"{rule["number"]}",{rule["type"]}{time}',)

    def active(self) -> dict[str, str]:
        """{condition: number} in force, for tests."""
        names = {0: "unconditional", 1: "busy", 2: "no_reply", 3: "not_reachable"}
        return {names[r]: rule["number"] for r, rule in sorted(self.rules.items()) if rule["active"]}
