"""Messages other code writes in English, read in the page's language: the daemon's config checks
(appliance/config/, appliance/core), the web app's refusals (abort), stored revision notes.

That code keeps English for the journal, the CLI and the API. The page matches each message against the
patterns below (the English with its variable parts as named groups) and shows the catalogue's words for
the pattern, the parts put back in. A message no pattern knows is looked up as it is, then shown as written.
"""

from __future__ import annotations

import re

from flask import Flask
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException

from .i18n import translate as _
from .labels import OPTIONS, step_type
from .words import state_word

_ID = r"'?(?P<name>[^']*)'?"
PATTERNS: list[tuple[re.Pattern[str], str]] = [(re.compile(f"^{pattern}$"), words) for pattern, words in (
    # revision notes (web/configure.py and its callers)
    (r"(?P<section>[a-z]+) edited", "{section} edited"),
    (r"reverted to revision (?P<id>\d+)", "reverted to revision {id}"),
    (r"holiday (?P<day>[\d-]+) toggled", "holiday {day} toggled"),
    (r"(?P<count>\d+) (?P<kind>[a-z ]+) date\(s\) imported", "{count} date(s) imported"),
    (r"prompt (?P<name>\S+): recording uploaded", "prompt {name}: recording uploaded"),
    (r"the caller of call (?P<id>\S+) blocked", "the caller of a call blocked"),
    # the daemon's refusals, relayed from its control socket (appliance/service/control.py, commands*.py, sim/)
    (r"the hotline daemon is not reachable at (?P<path>\S+): (?P<error>.*)",
     "The hotline service does not answer at {path} ({error}): it may be starting or stopped."),
    (r"the daemon did not answer in time", "The hotline service did not answer in time: try again in a moment."),
    (r"the daemon sent an unreadable reply: (?P<error>.*)", "The hotline service sent an unreadable reply: {error}"),
    (r"unknown command (?P<name>.+)", "The hotline service does not know the command {name}."),
    (r"(?P<name>[a-z_.]+) failed: internal error", "The hotline service failed at {name}: an internal error (its log "
     "says more)."),
    (r"the document is not valid TOML: (?P<error>.+)", "not valid TOML: {error}"),
    (r"no handset " + _ID, "There is no handset {name}."),
    (r"handset (?P<handset>\S+) is (?P<state>.+): a test ring would disturb a call",
     "Handset {handset} is {state}: a test ring would disturb a call."),
    (r"seconds must be a number between 0 and (?P<high>\S+)", "seconds must be a number between 0 and {high}"),
    (r"seconds must be a number from 0 to (?P<high>\d+)", "seconds must be a number between 0 and {high}"),
    (r"(?P<count>\d+) call\(s\) in progress: restart when the lines are quiet",
     "{count} call(s) in progress: restart when the lines are quiet."),
    (r"until must be a moment in the future \(epoch seconds\), or null for no end",
     "The end of the forced state must be in the future (or left empty: until taken back)."),
    (r"no call " + _ID + " in progress", "That call has ended."),
    (r"only a call connected to an operator can be transferred",
     "Only a call connected to an operator can be transferred."),
    (r"that call is not on your handset (?P<handset>\S+)", "That call is not on your handset {handset}."),
    (r"(?P<value>\S+) is not an allowed transfer target; an admin lists them in \[transfer\] allowed",
     "{value} is not an allowed transfer target: an admin lists them under “Transfer” in the configuration."),
    (r"no prompt " + _ID + ": upload or type it on the prompts page first",
     "There is no prompt {name}: upload or type it on the prompts page first."),
    (r"no line is up to send the SMS from; the announcement is on",
     "No line is up to send the SMS from; the announcement is on."),
    # a caller's export or erasure refused (appliance/records/store/retention.py, service/commands_calls.py)
    (r"the caller is on a call now \(line (?P<line>\S+)\); erase them once it has ended",
     "The caller is on a call now (line {line}): erase them once the call has ended."),
    (r"no calls from " + _ID, "There are no calls from {name}."),
    (r"no simulated line " + _ID, "There is no simulated line {name}."),
    (r"(?P<key>[a-z_]+) is needed", "{key} is needed"),
    # the daemon's alarms (appliance/diskspace.py, service/timesync.py); the others get a headline (alarm_words.py)
    (r"the data disk \((?P<path>[^)]+)\) has (?P<free>[\d.]+) MB free of (?P<total>\d+) MB \(warning below "
     r"(?P<low>\d+) MB\): when it is full, call records wait in memory until space is freed",
     "the data disk ({path}) has {free} MB free of {total} MB (warning below {low} MB): when it is full, call "
     "records wait in memory until space is freed"),
    (r"clock not set: the time is not synchronised yet, so calls follow \[schedule\] when_time_unknown = "
     r"'(?P<when>open|closed)', retention waits, and records are stamped provisionally until the time is set",
     "clock not set: the time is not synchronised yet, so calls follow the setting for an unknown time "
     "({when}), old records are kept, and records are stamped provisionally until the time is set"),
    (r"the wall clock jumped by (?P<days>[+-][\d.]+) days; retention waits a day rather than judge ages by it",
     "the wall clock jumped by {days} days; deleting old records waits a day rather than judge ages by it"),
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
    # the web app's own refusals of a form (ValueError texts shown as a flash or an error line)
    (r"there is already a prompt (?P<value>.+)", "there is already a prompt {value}"),
    (r"there is already a node (?P<value>.+)", "there is already a node {value}"),
    (r"there is already an item (?P<value>.+) in (?P<section>[a-z]+)", "there is already an item {value} in {section}"),
    (r"node type must be one of (?P<options>.+)", "node type must be one of {options}"),
    (r"a new node's type is one of (?P<options>.+)", "a new node's type is one of {options}"),
    (r"key (?P<key>\S+): the new node's name (?P<value>.+): use lowercase letters, digits, - and _",
     "key {key}: the new node's name {value} is lowercase letters, digits, - and _"),
    (r"the user name (?P<value>.+) is taken", "the user name {value} is taken"),
    (r"role must be one of (?P<options>.+)", "role must be one of {options}"),
    (r"(?:language|lang) must be one of (?P<options>.+)", "language must be one of {options}"),
    (r"(?P<value>.+) is not a date like 2026-01-07", "{value} is not a date like 2026-01-07"),
    (r"title: 1 to (?P<count>\d+) characters", "title: 1 to {count} characters"),
    (r"body: 1 to (?P<count>\d+) characters", "body: 1 to {count} characters"),
    (r"(?P<handset>\S+): ringing for 3 s", "{handset}: ringing for 3 s"),
    (r"not valid TOML: (?P<error>.+)", "not valid TOML: {error}"),
    (r"restored: (?P<value>.+)", "restored: {value}"),
    # the handover notes, text conversations, operators and console refusing (web/continuity.py, texts.py, ...)
    (r"a handover note has 1 to (?P<count>\d+) characters", "a handover note has 1 to {count} characters"),
    (r"no handover note (?P<id>\d+)", "no handover note {id}"),
    (r"write a reply of 1 to (?P<count>\d+) characters, or choose a ready one",
     "write a reply of 1 to {count} characters, or choose a ready one"),
    (r"no (?P<open>open )?conversation (?P<id>\d+)", "no such conversation ({id}): it was closed or removed"),
    (r"verb must be one of (?P<options>.+)", "verb must be one of {options}"),
    # a speech model's or voice's upload refused (appliance/speech/models.py)
    (r"(?P<file>[^:]+): the language must be one of (?P<options>.+), not (?P<value>.+)",
     "{file}: the language must be one of {options}, not {value}"),
    (r"(?P<file>[^:]+): not a \.zip or \.tar\.gz archive \(upload the model as published\)",
     "{file}: not a .zip or .tar.gz archive (upload the model as published)"),
    (r"(?P<file>[^:]+): the archive is damaged \((?P<error>.+)\)", "{file}: the archive is damaged ({error})"),
    (r"(?P<file>[^:]+): holds links or devices; a model is plain files",
     "{file}: holds links or devices; a model is plain files"),
    (r"(?P<file>[^:]+): (?P<name>.+) would be written outside the model's directory",
     "{file}: {name} would be written outside the model's directory"),
    (r"(?P<file>[^:]+): unpacks to more than (?P<size>\d+) GB", "{file}: unpacks to more than {size} GB"),
    (r"(?P<file>[^:]+): not a whole Vosk model: (?P<missing>.+) missing",
     "{file}: not a whole Vosk model: {missing} missing"),
    (r"(?P<file>[^:]+): not a Vosk model: it holds no am/final\.mdl",
     "{file}: not a Vosk model: it holds no am/final.mdl"),
    (r"(?P<file>[^:]+): a Piper voice's model is an \.onnx file", "{file}: a Piper voice's model is an .onnx file"),
    (r"(?P<file>[^:]+): not an ONNX model \(its first bytes are not an ONNX header\)",
     "{file}: not an ONNX model (its first bytes are not an ONNX header)"),
    (r"(?P<file>[^:]+): not JSON \((?P<error>.+)\)", "{file}: not JSON ({error})"),
    (r"(?P<file>[^:]+): not a Piper voice's settings \(audio\.sample_rate and phoneme_id_map missing\); upload "
     r"the \.onnx\.json published with the voice",
     "{file}: not a Piper voice's settings (audio.sample_rate and phoneme_id_map missing); upload the .onnx.json "
     "published with the voice"),
    # config problems
    (r"(?P<value>.+) is not a GPIO pin: use a BCM number 0-27 \(or \"GPIO17\"\)",
     "{value} is not a GPIO pin: use a BCM number 0-27 (or \"GPIO17\")"),
    (r"GPIO(?P<pin>\d+) is already used by (?P<owner>.+)", "GPIO{pin} is already used by {owner}"),
    (r"(?P<value>.+) is not one of (?P<options>.+)", "{value} is not one of {options}"),
    (r"(?P<value>.+): use \"reject\" \(a second caller hears busy\) or \"off\" \(the network's call waiting "
     r"switched off\)", '{value}: use "reject" (a second caller hears busy) or "off" (the network\'s call waiting '
     'switched off)'),
    (r"(?P<value>.+): a whole number of rings from 1 to 10 \(2 on a landline, so caller ID arrives first\)",
     "{value}: a whole number of rings from 1 to 10 (2 on a landline, so caller ID arrives first)"),
    (r"unknown dialect (?P<value>.+); use one of (?P<options>.+)", "unknown dialect {value}; use one of {options}"),
    (r"(?P<value>.+) is not a USSD code like \"\*100#\"", '{value} is not a USSD code like "*100#"'),
    (r"(?P<value>.+) must be the name of a recording uploaded to the box \(letters, digits, \. _ -; no "
     r"directories, no \.\.\)", "{value} must be the name of a recording uploaded to the box (letters, digits, . _ -; "
     "no directories, no ..)"),
    (r"cannot be read: (?P<error>.+)", "cannot be read: {error}"),
    (r"is not valid TOML: (?P<error>.+)", "is not valid TOML: {error}"),
    (r"no handset has the skill (?P<value>.+)", "no handset has the skill {value}"),
    (r"names a missing prompt (?P<value>.+)", "names a missing prompt {value}"),
    (r"names a missing node (?P<value>.+)", "names a missing node {value}"),
    (r"names no node: (?P<value>.+)", "names no node: {value}"),
    (r"(?P<value>.+) is not an operator", "{value} is not an operator"),
    (r"(?P<value>.+) is listed twice", "{value} is listed twice"),
    (r"(?P<value>.+) is not in \[\[operators\]\]", "{value} is not in [[operators]]"),
    (r"(?P<value>.+) is not a handset", "{value} is not a handset"),
    (r"must be a number from (?P<low>\S+) to (?P<high>\S+)", "must be a number from {low} to {high}"),
    (r"unknown key; did you mean (?P<value>\S+)\?", "unknown key; did you mean {value}?"),
    (r"unknown key; known here: (?P<options>.+)", "unknown key; known here: {options}"),
    (r"must be a number (?P<limit>.+), not (?P<value>.+)", "must be a number {limit}, not {value}"),
    (r"(?P<value>.+) is not a number or a prefix ending in \* \(e\.g\. \"\+78001234567\" or \"\+7800\*\"\)",
     '{value} is not a number or a prefix ending in * (e.g. "+78001234567" or "+7800*")'),
    (r"(?P<value>.+) is not a phone number", "{value} is not a phone number"),
    (r"(?P<value>.+) is not a YYYY-MM-DD date", "{value} is not a YYYY-MM-DD date"),
    (r"(?P<count>\d+) options: callers get lost past five", "{count} options: callers get lost past five"),
    (r"a (?P<kind>[a-z_]+) node needs it", "a {kind} node needs it"),
    (r"menu (?P<depth>\d+) levels deep: callers get lost past three",
     "menu {depth} levels deep: callers get lost past three"),
    (r"(?P<value>.+): must be \"open\" or \"closed\" \(how calls are taken until the clock is set\)",
     '{value}: must be "open" or "closed" (how calls are taken until the clock is set)'),
    (r"unknown time zone (?P<value>.+)", "unknown time zone {value}"),
    (r"unknown day; use one of (?P<options>.+)", "unknown day; use one of {options}"),
    (r"unknown node type (?P<value>.+); use one of (?P<options>.+)", "unknown node type {value}; use one of {options}"),
    (r"(?P<value>.+) is not HH:MM-HH:MM", "{value} is not HH:MM-HH:MM"),
    (r"(?P<value>.+) ends before it starts", "{value} ends before it starts"),
    (r"(?P<value>.+) is not YYYY-MM-DD or MM-DD \(yearly\)", "{value} is not YYYY-MM-DD or MM-DD (yearly)"),
    (r"unknown URL scheme (?P<value>.+); pyserial knows (?P<options>.+)",
     "unknown URL scheme {value}; pyserial knows {options}"),
    (r"(?P<value>.+) is not an absolute device path", "{value} is not an absolute device path"),
    (r"(?P<value>.+) does not exist \(is the modem plugged in and powered\?\)",
     "{value} does not exist (is the modem plugged in and powered?)"),
    (r"(?P<value>.+) does not exist \(is the modem plugged in and powered\?\); the line stays down until it appears",
     "{value} does not exist (is the modem plugged in and powered?); the line stays down until it appears"),
    (r"(?P<value>.+): use lowercase letters, digits, - and _", "{value}: use lowercase letters, digits, - and _"),
    (r"(?P<value>.+) is used by another line", "{value} is used by another line"),
    (r"(?P<value>.+) is used by another handset", "{value} is used by another handset"),
    (r"(?P<value>.+): needs a unique id of lowercase letters/digits",
     "{value}: needs a unique id of lowercase letters and digits"),
    (r"missing node " + _ID, "missing node {name}"),
    (r"must be seconds from (?P<low>[\d.]+) to (?P<high>[\d.]+)", "must be seconds from {low} to {high}"),
    (r"(?P<value>.+) is not a standard rate", "{value} is not a standard rate"),
    # a line's voice path (appliance/config/lines.py)
    (r"a (?P<value>\S+) modem has no (?P<audio>\S+) voice path; (?P=audio) needs (?P<options>.+)",
     "a {value} modem has no such voice path; it needs {options}"),
    (r"only used with audio = \"serial\" \(this line: (?P<value>\S+)\)",
     "only used when the voice goes through the modem's USB voice port"),
    (r"audio = \"serial\" needs the modem's voice port, e\.g\. (?P<value>\S+) \(docs/modems\.md\)",
     "the modem's USB voice port needs its device, e.g. {value}"),
    (r"(?P<value>\S+) is the line's AT port; the voice port is another of the modem's USB ports \(docs/modems\.md\)",
     "{value} is the line's AT port; the voice port is another of the modem's USB ports"),
)]
# What a page shows for an error Werkzeug described in its own words.
ERRORS = {400: "The request was not understood.", 403: "This is not for your role.", 404: "There is no such page.",
          405: "This page cannot be used that way.", 413: "That is too large for the box.",
          429: "Too many requests: wait a minute.", 500: "Something went wrong in the box.",
          503: "The box does not answer now: try again in a moment."}


def message(text: str) -> Markup:
    """The message in the page's language; the parts that are the admin's own values (a typed value, an id, a
    list of allowed codes) are kept as written and marked translate="no"."""
    for pattern, words in PATTERNS:
        found = pattern.match(text)
        if found:
            parts = {key: _data(value) for key, value in found.groupdict().items()}
            if "state" in found.groupdict():  # a handset's state, as the dashboard says it
                parts["state"] = state_word(found["state"])
            if "role" in found.groupdict():
                parts["role"] = _(found["role"])
            if "kind" in found.groupdict():  # a flow node's type
                parts["kind"] = step_type(found["kind"])
            if "section" in found.groupdict():  # a config section's name, as the menu of sections has it
                parts["section"] = _(found["section"].capitalize())
            if "when" in found.groupdict():  # [schedule] when_time_unknown, as its setting's choices say it
                parts["when"] = _(OPTIONS[found["when"]])
            return Markup(escape(_(words))).format(**parts)
    return escape(_(text))


def plain(text: str) -> str:
    """The message in the page's language as plain text, for a script to put in a page (textContent)."""
    return message(text).striptags()


def knows(text: str) -> bool:
    """Whether the catalogue has words for this message (a pattern, or the text itself as an entry)."""
    return any(pattern.match(text) for pattern, _words in PATTERNS) or _(text) != text


def _data(value: str) -> Markup:
    return Markup('<span translate="no">{}</span>').format(value)


def error_text(error: HTTPException) -> str | Markup:
    if error.description == type(error).description:
        return _(ERRORS.get(error.code or 500, "Something went wrong in the box."))
    return message(str(error.description))


def revision_note(note: str | None) -> str | Markup:
    return message(note) if note else ""


def install(app: Flask) -> None:
    # A flash or an error line may come from code that wrote English (a ValueError's text): read it here too.
    app.jinja_env.globals.update(error_text=error_text, revision_note=revision_note, words_for=message)
