"""Messages other code writes in English, read in the page's language: the daemon's config checks
(appliance/config*.py, appliance/core), the web app's refusals (abort), stored revision notes.

That code keeps English for the journal, the CLI and the API. The page matches each message against the
patterns below (the English with its variable parts as named groups) and shows the catalogue's words for
the pattern, the parts put back in. A message no pattern knows is looked up as it is, then shown as written.
"""

from __future__ import annotations

import re

from flask import Flask
from werkzeug.exceptions import HTTPException

from .i18n import translate as _

_ID = r"'?(?P<name>[^']*)'?"
PATTERNS: list[tuple[re.Pattern[str], str]] = [(re.compile(f"^{pattern}$"), words) for pattern, words in (
    # revision notes (web/configure.py and its callers)
    (r"(?P<section>[a-z]+) edited", "{section} edited"),
    (r"reverted to revision (?P<id>\d+)", "reverted to revision {id}"),
    (r"holiday (?P<day>[\d-]+) toggled", "holiday {day} toggled"),
    (r"(?P<count>\d+) (?P<kind>[a-z ]+) date\(s\) imported", "{count} date(s) imported"),
    (r"prompt (?P<name>\S+): recording uploaded", "prompt {name}: recording uploaded"),
    (r"the caller of call (?P<id>\S+) blocked", "the caller of a call blocked"),
    # refusals
    (r"no call " + _ID, "There is no call {name}."),
    (r"no revision (?P<name>\d+)", "There is no revision {name}."),
    (r"no prompt " + _ID, "There is no prompt {name}."),
    (r"no voicemail (?P<name>\d+)", "There is no voice message {name}."),
    (r"no article (?P<name>\d+)", "There is no article {name}."),
    (r"no pending callback (?P<name>\d+)", "There is no pending callback {name}."),
    (r"no config section " + _ID, "There is no configuration section {name}."),
    (r"this page is for the (?P<role>[a-z]+) role", "This page is for the role: {role}."),
    (r"the recording of voicemail (?P<name>\d+) is missing", "The recording of voice message {name} is missing."),
    (r"the running config cannot be read: (?P<error>.*)", "The running configuration cannot be read: {error}"),
    # config problems
    (r"(?P<value>.+) is not a GPIO pin: use a BCM number 0-27 \(or \"GPIO17\"\)",
     "{value} is not a GPIO pin: use a BCM number 0-27 (or \"GPIO17\")"),
    (r"GPIO(?P<pin>\d+) is already used by (?P<owner>.+)", "GPIO{pin} is already used by {owner}"),
    (r"(?P<value>.+) is not one of (?P<options>.+)", "{value} is not one of {options}"),
    (r"(?P<value>.+): use lowercase letters, digits, - and _", "{value}: use lowercase letters, digits, - and _"),
    (r"(?P<value>.+) is used by another line", "{value} is used by another line"),
    (r"(?P<value>.+): needs a unique id of lowercase letters/digits",
     "{value}: needs a unique id of lowercase letters and digits"),
    (r"missing node " + _ID, "missing node {name}"),
    (r"must be seconds from (?P<low>[\d.]+) to (?P<high>[\d.]+)", "must be seconds from {low} to {high}"),
    (r"(?P<value>.+) is not a standard rate", "{value} is not a standard rate"),
)]
# What a page shows for an error Werkzeug described in its own words.
ERRORS = {400: "The request was not understood.", 403: "This is not for your role.", 404: "There is no such page.",
          405: "This page cannot be used that way.", 413: "That is too large for the box.",
          429: "Too many requests: wait a minute.", 500: "Something went wrong in the box.",
          503: "The box does not answer now: try again in a moment."}


def message(text: str) -> str:
    for pattern, words in PATTERNS:
        found = pattern.match(text)
        if found:
            parts = found.groupdict()
            if "role" in parts:
                parts["role"] = _(parts["role"])
            if "section" in parts:  # a config section's name, as the menu of sections has it
                parts["section"] = _(parts["section"].capitalize())
            return _(words, **parts)
    return _(text)


def error_text(error: HTTPException) -> str:
    if error.description == type(error).description:
        return _(ERRORS.get(error.code or 500, "Something went wrong in the box."))
    return message(str(error.description))


def revision_note(note: str | None) -> str:
    return message(note) if note else ""


def install(app: Flask) -> None:
    app.jinja_env.globals.update(error_text=error_text, revision_note=revision_note)
