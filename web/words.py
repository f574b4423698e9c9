"""The call records' codes in words: timeline events (Asterisk queue_log names in the store), who ended a
call and why, and the fields of a call's page. The store keeps the codes (the API and CSV give them as
they are); only the page reads them out, in its language."""

from __future__ import annotations

from flask import Flask

from . import boxtime
from .i18n import translate as _

EVENTS = {
    "ANSWERED": "answered by the box", "ANSWER_REFUSED": "the modem did not answer",
    "FORWARDED": "forwarded here by the network", "KEY": "key pressed",
    "COLLECT": "digits typed", "ENTERQUEUE": "waiting for an operator", "RINGNOANSWER": "an operator did not answer",
    "CONNECT": "connected to an operator", "COMPLETEAGENT": "the operator hung up",
    "COMPLETECALLER": "the caller hung up", "ABANDON": "the caller hung up while waiting",
    "EXITWITHKEY": "left the queue with a key", "EXITWITHTIMEOUT": "waited too long", "FAILED": "failed",
    "VOICEMAIL": "left a voice message", "CALLBACK_REQUEST": "asked to be called back", "DIAL": "dialling",
    "RINGBACK": "ringing back", "TRANSFER": "transferred", "SURVEY": "survey answer", "SMS": "SMS sent",
    "DIALOPERATOR": "dialling a remote operator's phone", "WHISPER": "the remote operator picked up",
    "JOINED": "joined to the remote operator", "HANDOVER": "handed over to a colleague",
    "BARGE": "a supervisor joined the call", "LISTEN": "a supervisor listened in",
    "MOVE": "being moved to a sibling box", "MOVED": "moved to a sibling box",
    "FROM_SIBLING": "moved here by a sibling box",
}
# The fields of a call's page, in the order shown; the ones holding ids or names are data.
CALL_FIELDS = (("line", "Line", True), ("menu_path", "Menu choices", True), ("skill", "Skill", True),
               ("handset", "Handset", True), ("operator", "Operator", True), ("wait_seconds", "Wait, s", False),
               ("talk_seconds", "Talk, s", False), ("outcome", "Outcome", False), ("ended_by", "Ended by", False),
               ("reason", "Reason", False))
WHO_ENDED = {"caller": "the caller", "operator": "the operator", "system": "the box", "line": "the line"}


# The daemon's state names (operators, handsets, calls, lines), as the pages say them; each is a catalogue entry.
STATE_WORDS = {"available": "available", "ringing": "ringing", "on_call": "on a call", "wrap_up": "wrapping up",
               "paused": "paused", "logged_out": "logged out", "idle": "free", "off-hook": "receiver lifted",
               "on call": "on a call", "in menu": "in the menu", "answering": "answering",
               "waiting": "waiting in the queue", "ringing operators": "ringing operators", "connected": "connected",
               "moving": "being moved to a sibling box"}


def state_word(state: str | None) -> str:
    return _(STATE_WORDS.get(state or "", state or ""))


def event_words(code: str) -> str:
    return _(EVENTS[code]) if code in EVENTS else code


def call_value(key: str, value: object) -> str:
    """A call's field as the page shows it: codes in words, numbers and ids as they are."""
    if value is None or value == "":
        return ""
    if key == "ended_by":
        return _(WHO_ENDED[value]) if value in WHO_ENDED else str(value)
    if key in ("outcome", "reason"):
        return _(str(value))
    return str(value)


def opening(schedule: dict) -> dict[str, object]:
    """Open or closed now, and who forced it until when, in one line of words: the page renders it at load
    and the dashboard's poll replaces it, so the two never say it differently."""
    forced = schedule.get("override")
    if forced in ("open", "closed"):
        until = schedule.get("override_until")
        text = " · ".join((_("Forced open") if forced == "open" else _("Forced closed"),
                           _("by {name}", name=schedule.get("override_by") or "?"),
                           _("until {moment}", moment=boxtime.shown(until)) if until else _("until taken back")))
    else:
        text = _("Open (by the hours)") if schedule.get("open") else _("Closed (by the hours)")
    return {"open": bool(schedule.get("open")), "forced": forced, "text": text}


LANGUAGES = {"en": "English", "ru": "Russian"}


def language_name(code: str) -> str:
    return _(LANGUAGES.get(code, code))


def install(app: Flask) -> None:
    from . import patterns

    patterns.install(app)
    app.jinja_env.globals.update(event_words=event_words, call_value=call_value, call_fields=CALL_FIELDS,
                                 language_name=language_name, opening_words=opening,
                                 state_word=state_word)
