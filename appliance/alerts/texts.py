"""What an alert says, in the box's language: a subject (e-mail) and a body short enough for one SMS or two.

Numbers arrive already shown as the privacy mode lets them leave the box (the sender passes them through
`appear(..., "webhook")`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SMS_CHARS = 300  # about two SMS parts of GSM-7 (153 characters each), fewer in UCS-2

_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "voicemail": ("New voicemail", "{box}: a new voicemail ({seconds:.0f} s) from {caller}."),
        "abandoned": ("A caller gave up", "{box}: a caller ({caller}) hung up after waiting {wait:.0f} s."),
        "callback_due": ("Callback requested", "{box}: {caller} asked to be called back."),
        "line_down": ("Line down", "{box}: line {line} is down: {reason}."),
        "line_up": ("Line up", "{box}: line {line} is up again."),
        "low_balance": ("SIM balance low", "{box}: the SIM balance of line {line} is low: {text}."),
        "disk_low": ("Disk filling up", "{box}: {text}"),
        "service_level": ("Service level breached", "{box}: only {share:.0%} of the last {calls} callers were "
                                                    "answered within {seconds:.0f} s."),
        "emergency_on": ("Emergency announcement on", "{box}: the emergency announcement {prompt} is on."),
        "box_offline": ("A box went offline", "{box}: the fleet's box {sibling} is offline (its broker says so)."),
        "sibling_line_down": ("A sibling's line is down", "{box}: line {line} of the fleet's box {sibling} is down."),
        "digest": ("{n} alerts", "{box}: {n} alerts held back (quiet hours, rate limit or digest):"),
        "withheld": ("", "a withheld number"),
        "audio_kept": ("", " (privacy mode {mode}: the audio stays on the box)"),
        "transcript": ("Voicemail transcript", "{box}: the transcript of a voicemail whose alert went before it."),
        "said": ("", "\nIt says: \u201c{text}\u201d"),
        "transcript_kept": ("", " (privacy mode {mode}: its transcript stays on the box)"),
    },
    "ru": {
        "voicemail": ("Новое голосовое сообщение", "{box}: новое голосовое сообщение ({seconds:.0f} с) от {caller}."),
        "abandoned": ("Абонент не дождался", "{box}: абонент ({caller}) положил трубку после {wait:.0f} с ожидания."),
        "callback_due": ("Просьба перезвонить", "{box}: {caller} просит перезвонить."),
        "line_down": ("Линия недоступна", "{box}: линия {line} недоступна: {reason}."),
        "line_up": ("Линия снова работает", "{box}: линия {line} снова работает."),
        "low_balance": ("Мало денег на SIM", "{box}: на SIM линии {line} мало денег: {text}."),
        "disk_low": ("Диск заполняется", "{box}: {text}"),
        "service_level": ("Уровень обслуживания нарушен", "{box}: только {share:.0%} из последних {calls} "
                                                         "абонентов ответили за {seconds:.0f} с."),
        "emergency_on": ("Включено экстренное объявление", "{box}: включено экстренное объявление {prompt}."),
        "box_offline": ("Устройство не на связи", "{box}: устройство сети {sibling} не на связи "
                                                  "(так сообщает брокер)."),
        "sibling_line_down": ("Линия другого устройства недоступна", "{box}: линия {line} устройства сети "
                                                                     "{sibling} недоступна."),
        "digest": ("Оповещений: {n}", "{box}: оповещений отложено (тихие часы, лимит или сводка): {n}"),
        "withheld": ("", "скрытый номер"),
        "audio_kept": ("", " (режим приватности {mode}: запись остаётся на устройстве)"),
        "transcript": ("Расшифровка голосового сообщения", "{box}: расшифровка голосового сообщения, оповещение "
                                                            "о котором ушло раньше неё."),
        "said": ("", "\nВ сообщении: \u00ab{text}\u00bb"),
        "transcript_kept": ("", " (режим приватности {mode}: расшифровка остаётся на устройстве)"),
    },
}


def describe(kind: str, data: Mapping[str, Any], *, box: str, language: str) -> tuple[str, str]:
    """(subject, body) of one alert."""
    texts = _TEXTS.get(language, _TEXTS["en"])
    values = {"box": box, "caller": texts["withheld"][1], "seconds": 0.0, "wait": 0.0, "line": "?", "reason": "",
              "text": "", "share": 0.0, "calls": 0, "prompt": "", "n": 0, "sibling": "?"}
    values.update({k: v for k, v in data.items() if v is not None})
    values["wait"] = data.get("wait_seconds") or 0.0
    subject, body = texts[kind]
    return f"{box}: {subject}", body.format(**values)


def audio_kept(mode: str, *, language: str) -> str:
    return _TEXTS.get(language, _TEXTS["en"])["audio_kept"][1].format(mode=mode)


def transcript_kept(mode: str, *, language: str) -> str:
    return _TEXTS.get(language, _TEXTS["en"])["transcript_kept"][1].format(mode=mode)


def said(text: str, *, language: str) -> str:
    """The line a voicemail's alert gains from its transcript."""
    return _TEXTS.get(language, _TEXTS["en"])["said"][1].format(text=" ".join(text.split()))


def shortened(body: str) -> str:
    """An SMS alert kept to two parts (a long transcript would otherwise take many)."""
    return body if len(body) <= SMS_CHARS else body[:SMS_CHARS - 1] + "\u2026"


def digest(bodies: list[str], *, box: str, language: str) -> tuple[str, str]:
    texts = _TEXTS.get(language, _TEXTS["en"])
    subject, head = texts["digest"]
    return f"{box}: {subject.format(n=len(bodies))}", "\n".join([head.format(box=box, n=len(bodies)), *bodies])
