"""Human words for the config forms: a field's label, its example, the names of its options and the title of
its group, in the page's language. The form keeps the TOML key as the field's name (problems land by it);
only what the admin reads changes. Ids the admin chose (nodes, prompts, lines) are data, shown as typed and
marked translate="no".
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from markupsafe import Markup, escape

from .i18n import translate as _

# By the last step of the field's path; what the form module already wrote in words passes through.
LABELS = {
    "id": "Id (lowercase letters, digits, - and _)", "name": "Name", "operator": "Operator's name",
    "language": "Language callers hear first", "country": "Country (two letters, for dial tones)",
    "cadence": "Ring rhythm", "custom": "Own ring rhythm: seconds on, off, on, off",
    "port": "Modem port", "dialect": "Modem model", "baudrate": "Port speed (baud)",
    "rtscts": "Hardware flow control (RTS/CTS)", "sim_pin": "SIM card PIN", "power_pin": "Modem power key pin (GPIO)",
    "audio_out": "Sound card output (ALSA)", "audio_in": "Sound card input (ALSA)",
    "audio": "The call's voice goes through", "audio_port": "Modem's voice port (for the USB voice port)",
    "kind": "Wiring", "ring_pin": "Ring relay pin (GPIO)", "hook_pin": "Cradle switch pin (GPIO)",
    "ring_mode_pin": "SLIC ring mode pin (GPIO)", "fr_pin": "SLIC forward/reverse pin (GPIO)",
    "audio_pins": "Audio relay pin per line (line = GPIO pin)", "skills": "Skills",
    "text": "Text", "lang": "Language", "file": "Recording file",
    "timezone": "Time zone", "always_open": "Always open (ignore hours and holidays)",
    "holidays": "Holidays (dates)", "when_time_unknown": "When the box does not know the time",
    "start": "Start node", "type": "Step type", "prompt": "Prompt", "next": "Then go to",
    "keys": "Keys (key = where it leads)", "on_timeout": "When no key is pressed, go to",
    "on_invalid": "After a wrong key, go to", "invalid_prompt": "Prompt after a wrong key",
    "timeout_prompt": "Prompt when no key is pressed", "thanks_prompt": "Thank-you prompt",
    "timeout": "Seconds to wait for a key", "retries": "Times to ask again", "skill": "Skill needed",
    "survey": "Survey after the call", "open": "When open, go to", "closed": "When closed, go to",
    "on": "Check", "match": "When it matches, go to", "otherwise": "Otherwise go to",
    "number": "Phone number", "on_fail": "When the transfer fails, go to", "max_wait": "Longest wait (seconds)",
    "max_seconds": "Longest message (seconds)", "silence_seconds": "Silence that ends the message (seconds)",
    "min_seconds": "Shortest message kept (seconds)", "length": "Digits to collect",
    "ring_timeout": "Ring each operator for (seconds)",
}
SECTION_WORDS = {"box": "Box", "ringing": "Ringing", "lines": "Line", "handsets": "Handset", "prompts": "Prompt",
                 "schedule": "Schedule", "hours": "Hours", "flow": "Flow", "nodes": "Step", "queue": "Queue",
                 "operators": "Operator", "callers": "Callers", "privacy": "Privacy", "retention": "Keeping data",
                 "callbacks": "Callbacks", "transfer": "Transfer", "webhooks": "Webhooks"}
DAY_LABELS = {"mon": "Monday hours", "tue": "Tuesday hours", "wed": "Wednesday hours", "thu": "Thursday hours",
              "fri": "Friday hours", "sat": "Saturday hours", "sun": "Sunday hours"}
# Real examples, by the last step of the path (or the day, for hours); words among them are translated.
EXAMPLES = {
    "hours": "09:00-13:00, 14:00-18:00", "holidays": "2027-01-01, 05-09", "audio_pins": "gsm1=22",
    "keys": "1=legal, 2=psychology", "custom": "0.4, 0.2, 0.4, 2", "timezone": "Europe/Moscow",
    "port": "/dev/ttyUSB2", "audio_out": "plughw:CARD=Device,DEV=0", "audio_in": "plughw:CARD=Device,DEV=0",
    "audio_port": "/dev/hotline/gsm1-audio",
    "number": "+78001002030", "sim_pin": "1234", "power_pin": "4", "ring_pin": "17", "hook_pin": "27",
}
WORDED_EXAMPLES = {"skills": "legal, psychology"}
CADENCES = {"ru": "Russian: 1 s on, 4 s off", "na": "North American: 2 s on, 4 s off",
            "uk": "British: 0.4 s on, 0.2 s off, 0.4 s on, 2 s off", "custom": "own rhythm (below)"}
# Options that are words (an enumeration), by value; any other option is an id the admin chose.
OPTIONS = {
    "en": "English", "ru": "Russian", "relay": "relay board", "slic": "SLIC module",
    "auto": "detect automatically", "open": "as open", "closed": "as closed",
    "play": "play a prompt", "menu": "menu (choose a key)", "collect": "collect digits",
    "language": "choose the language", "schedule": "check the working hours", "branch": "branch on a condition",
    "route": "ring the operators", "voicemail": "voicemail", "callback": "offer a callback", "survey": "survey",
    "sms": "send an SMS", "transfer": "transfer to a number", "hangup": "hang up",
    "speak": "ask the caller to say what they need",
    "ringall": "all at once", "linear": "in order", "rrmemory": "in turn, after the last one who answered",
    "leastrecent": "who answered least recently", "fewestcalls": "who took fewest calls",
    "random": "at random", "wrandom": "at random, by weight",
    "alsa": "a sound card", "serial": "the modem's USB voice port", "uac": "the modem's USB sound card",
}
# Fields whose options are words; the rest (start node, targets, prompts, hold music) offer ids.
_WORDED = re.compile(r"(\.language|\.lang|\.keys|\.kind|\.type|when_time_unknown|\.strategy|\.audio)$")


def field_label(field: Any) -> str:
    key = field.path.rsplit(".", 1)[-1]
    if field.label != key:
        return field.label  # already words
    if ".hours." in field.path and key in DAY_LABELS:
        return _(DAY_LABELS[key])
    return _(LABELS[key]) if key in LABELS else key


def example(field: Any) -> str:
    key = field.path.rsplit(".", 1)[-1]
    if ".hours." in field.path:
        return EXAMPLES["hours"]
    if field.kind == "tiers":
        return "0=3, 30=1, 60=any"
    if field.kind == "intmap" and key == "skills":
        return "legal=3, general=1"
    if field.path.startswith("callers."):
        return "+79161234567, +79167654321"
    return _(WORDED_EXAMPLES[key]) if key in WORDED_EXAMPLES else EXAMPLES.get(key, "")


def option_is_data(field: Any, value: str) -> bool:
    """An option the admin named (a node, a prompt) or a modem model: shown as it is, never translated."""
    if field.path.endswith(".cadence"):
        return value not in CADENCES
    return not (_WORDED.search(field.path) and value in OPTIONS)


def option_label(field: Any, value: str) -> str:
    if option_is_data(field, value):
        return value
    return _(CADENCES[value] if field.path.endswith(".cadence") else OPTIONS[value])


def step_type(value: str) -> str:
    """What a flow node of this type does, in words."""
    return _(OPTIONS[value]) if value in OPTIONS else value


EDGES = {"next": "then", "open": "when open", "closed": "when closed", "on_timeout": "no key pressed",
         "on_invalid": "wrong key", "match": "matches", "otherwise": "otherwise", "survey": "survey",
         "on_fail": "transfer failed"}


def edge_label(label: str) -> str:
    """An arrow of the flow tree: "key 1", or the field it follows ("next" reads "then")."""
    if label.startswith("key "):
        return _("key {key}", key=label[4:])
    return _(EDGES[label]) if label in EDGES else label


def path_label(path: str) -> Markup:
    """A problem's field in words: "Handset 2: Ring relay pin (GPIO)" for handsets[1].ring_pin; an id the
    admin chose (a node, a prompt) stays as written."""
    words: list[Markup] = []
    for step in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if step.startswith("["):
            words[-1:] = [Markup("{} {}").format(words[-1], int(step[1:-1]) + 1) if words else escape(step)]
        elif step in SECTION_WORDS or step in LABELS or step in DAY_LABELS:
            words.append(escape(_((SECTION_WORDS | LABELS | DAY_LABELS)[step])))
        else:
            words.append(Markup('<span translate="no">{}</span>').format(step))
    return Markup(": ").join(words)


def problem_text(problem: Any, with_field: bool = False) -> Markup:
    """A config problem as the admin reads it, the field named in words when it is not beside its field."""
    from .patterns import message

    text = message(problem.message)
    if problem.severity == "warning":
        text = Markup(escape(_("Warning: {message}"))).format(message=text)
    return Markup("{}: {}").format(path_label(problem.field), text) if with_field else text


def group_title(group: Any) -> Markup:
    """"Handset h1", "Line gsm1", a node's or prompt's own name (an id), or the section's name."""
    path = group.path
    item = re.match(r"(handsets|lines)\[\d+\]$", path)
    if item:
        ident = group.title.split(" ", 1)[-1]
        words = _("Handset") if item.group(1) == "handsets" else _("Line")
        return Markup('{} <span translate="no">{}</span>').format(words, ident)
    if path.startswith(("prompts.", "flow.nodes.")):
        return Markup('<span translate="no">{}</span>').format(group.title)
    sections = {"box": "Box", "schedule": "Schedule", "flow": "Flow"}
    return escape(_(sections[path])) if path in sections else escape(group.title)


def install(app: Flask) -> None:
    app.jinja_env.globals.update(field_label=field_label, field_example=example, option_label=option_label,
                                 option_is_data=option_is_data, group_title=group_title, step_type=step_type,
                                 edge_label=edge_label, problem_text=problem_text)
