"""A problem found while checking a configuration: always names its field."""

from __future__ import annotations

from appliance.core.lean import lean


@lean(frozen=True)
class Problem:
    field: str  # dotted path into the config document, e.g. "handsets[1].hook_pin"
    message: str
    severity: str = "error"  # "error" stops the box from starting; "warning" is advice

    def __str__(self) -> str:
        return f"{self.severity}: {self.field}: {self.message}"
