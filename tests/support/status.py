"""The running daemon's status as the web page asks for it: over the control socket, answered by the loop.

`daemon.status()` called from a test's thread reads the core while the loop changes it: it can show a call
gone while the loop is still carrying out that event's actions (the call's record is written by one of them),
and it runs the status's own line-alarm updates off the loop. Asked through the loop, the answer comes
between two events, as a user sees it: a call the status no longer shows has its record written.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

from appliance.service.background import Done
from appliance.service.control import call

ASK_TIMEOUT = 10.0  # the loop answers between events; a loaded CI machine may keep it busy for a few seconds


def loop_status(daemon: Any, timeout: float = ASK_TIMEOUT) -> dict[str, Any]:
    """The status of `daemon` (its loop running), asked through the loop as the web page asks it."""
    reply = call(daemon.control_path, "status", timeout=timeout)
    assert reply.pop("ok", False), f"the daemon refused the status: {reply}"
    return reply


def loop_command(daemon: Any, command: str, timeout: float = ASK_TIMEOUT, **args: Any) -> dict[str, Any]:
    """`command` carried out by the loop, sent as the web page sends it (its background work done too);
    LookupError or ValueError with the daemon's words when it refuses, as the handler raised them."""
    reply = call(daemon.control_path, command, timeout=timeout, **args)
    if reply.pop("ok", False):
        return reply
    if reply.get("not_found"):
        raise LookupError(reply["error"])
    raise ValueError(reply["error"])


def on_loop(daemon: Any, change: Callable[[], Any], timeout: float = ASK_TIMEOUT) -> Any:
    """`change()` run by the daemon's loop between two items, as a command is; its value (or exception) here.

    For a test that sets the core up a way no command does: from the test's thread it would race the loop."""
    ran: queue.Queue = queue.Queue(maxsize=1)

    def then(_outcome: Callable[[], Any]) -> None:
        try:
            ran.put((True, change()))
        except Exception as exc:  # handed to the test, not to the loop's log
            ran.put((False, exc))

    daemon.post(Done(then, lambda: None))
    ok, value = ran.get(timeout=timeout)
    if not ok:
        raise value
    return value
