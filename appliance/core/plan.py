"""What calls follow now: the admin's flow, hours, caller lists and prompts, and the announcement switch.

One object the parts share by reference, so a new config or a switched-on announcement reaches the IVR,
the callbacks and the switchboard at once.
"""

from __future__ import annotations

from appliance.core.lean import lean

from .callers import CallerLists
from .flow import Flow
from .schedule import Schedule


@lean
class CallPlan:
    flow: Flow
    schedule: Schedule
    callers: CallerLists
    prompts: frozenset[str]
    recording_prompt: str | None = None  # set when every call is recorded: the caller is told first
    announcement: str | None = None  # the emergency announcement's prompt, while it is on
    speech: bool = False  # a recogniser runs (the service decides): speak nodes listen, else they are key menus
    language: str = "en"  # the box's language: what a caller who chose none is taken to speak
