"""The running daemon's status as the web page asks for it: over the control socket, answered by the loop.

`daemon.status()` called from a test's thread reads the core while the loop changes it: it can show a call
gone while the loop is still carrying out that event's actions (the call's record is written by one of them),
and it runs the status's own line-alarm updates off the loop. Asked through the loop, the answer comes
between two events, as a user sees it: a call the status no longer shows has its record written.
"""

from __future__ import annotations

from typing import Any

from appliance.service.control import call

ASK_TIMEOUT = 10.0  # the loop answers between events; a loaded CI machine may keep it busy for a few seconds


def loop_status(daemon: Any, timeout: float = ASK_TIMEOUT) -> dict[str, Any]:
    """The status of `daemon` (its loop running), asked through the loop as the web page asks it."""
    reply = call(daemon.control_path, "status", timeout=timeout)
    assert reply.pop("ok", False), f"the daemon refused the status: {reply}"
    return reply
