"""The daemon's alarms (docs/alarms.md), and why a line is down, in the page's language, for the dashboard.

The daemon writes each alarm's text in English, with the details an admin or a technician needs (a path, a
modem's reply, an exception). A page in another language says what the alarm means in its own words: the
whole text when the catalogue knows it, else a headline for the alarm's kind, with the daemon's own text kept
beside it as the technical detail (marked as English by the script).
"""

from __future__ import annotations

import re
from typing import Any

from . import boxtime
from .i18n import language
from .i18n import translate as _
from .patterns import knows, plain

# Headlines by alarm id, most specific first: (id or id prefix, words with {rest}: what follows the prefix).
HEADLINES = (
    ("disk.low", "The data disk is nearly full."),
    ("disk.write", "Call records cannot be written to the disk: they wait in memory until space returns. "
                   "Calls are still answered."),
    ("disk.reserve", "The data disk was full at start: the space kept in reserve was used. Free some space."),
    ("disk.exclusive", "The data disk was full at start: these pages cannot read the call records until some "
                       "space is freed. Calls are still answered."),
    ("maintenance.", "A maintenance task failed ({rest}); it is tried again by itself."),
    ("clock.unset", "The clock is not set yet: calls follow the setting for an unknown time, and records are "
                    "stamped provisionally."),
    ("clock.step", "The clock jumped: deleting old records waits a day."),
    ("start.restore", "The call log restored from a backup was not used; the call log in use is unchanged."),
    ("start.database", "The call log was damaged at start: it was moved aside and a fresh one was started."),
    ("start.config", "The saved configuration could not be used at start; the newest good revision runs "
                     "instead."),
    ("start.", "A problem at start ({rest})."),
    ("prompt.", "The prompt {rest} could not be made: callers hear a short tone instead."),
    ("line.", "A line's modem reports a problem ({rest})."),
    ("alerts.send", "Alerts cannot be sent now: they are tried again by themselves."),
)

# The maintenance chores by name (appliance/service/keeper.py), in words.
CHORES = {"retention": "deleting old records", "webhooks": "sending webhooks",
          "restamp": "moving records stamped before the clock was set"}


def alarm_words(alarm: dict[str, Any]) -> dict[str, Any]:
    """The alarm with `words` (what to show), `detail` (the daemon's English, when `words` is a headline)
    and `since_text` (when it began, on the box's clock)."""
    text, words, detail = str(alarm.get("text", "")), None, None
    if language() == "en" or knows(text):
        words = plain(text)
    else:
        alarm_id = str(alarm.get("id", ""))
        for key, headline in HEADLINES:
            if alarm_id == key or (key.endswith(".") and alarm_id.startswith(key)):
                rest = alarm_id[len(key):]
                words = _(headline, rest=_(CHORES[rest]) if key == "maintenance." and rest in CHORES else rest)
                break
        words, detail = words or _("Alarm {id}", id=alarm_id), text
    return {**alarm, "words": words, "detail": detail, "since_text": boxtime.shown(alarm.get("since"))}


# Why a line is down (appliance/modem: recovery.py, health.py, line.py; service/adapters.py): the kind in words,
# and the daemon's own text kept beside it when it holds more (a port, the modem's reply, an exception).
# (pattern, words, whether the text says no more than the words)
LINE_REASONS = tuple((re.compile(pattern), words, whole) for pattern, words, whole in (
    (r"not on the network: .*", "not on the network", False),
    (r"no SIM inserted", "no SIM inserted", True),
    (r"the SIM needs its PIN(?: and none is configured \(sim_pin\))?", "the SIM needs its PIN", False),
    (r"the SIM refused the configured PIN", "the SIM refused the configured PIN", True),
    (r"the SIM is blocked \(PUK needed\)", "the SIM is blocked (PUK needed)", True),
    (r"the SIM (?:is not ready|is not usable .*|reports .*)", "the SIM is not usable", False),
    (r"port .* lost: .*", "the connection to the modem was lost", False),
    (r"the modem stopped answering.*", "the modem stopped answering", False),
    (r"the modem reported .*", "the modem reported a problem", False),
    (r".* cannot be opened: .*", "the line's sound device cannot be opened", False),
    (r"not configured: .*", "the line is not configured for this box", False),
))
REGISTRATION = re.compile(r"not on the network: (?P<state>.+)")


def line_reason(reason: str | None) -> dict[str, str | None]:
    """`reason_words` (what to show) and `reason_detail` (the daemon's English, when it says more)."""
    if not reason:
        return {"reason_words": None, "reason_detail": None}
    if language() == "en":
        return {"reason_words": reason, "reason_detail": None}
    registration = REGISTRATION.fullmatch(reason)
    if registration and _(registration["state"]) != registration["state"]:
        return {"reason_words": f"{_('not on the network')}: {_(registration['state'])}", "reason_detail": None}
    for pattern, words, whole in LINE_REASONS:
        if pattern.fullmatch(reason):
            return {"reason_words": _(words), "reason_detail": None if whole else reason}
    return {"reason_words": _("the modem reports a problem"), "reason_detail": reason}
