"""English and Russian through the standard library's gettext: the English text is the message id, and
web/translations/ru/LC_MESSAGES/messages.po holds its Russian. A missing entry shows English.
(Flask-Babel did the same lookup and cost 1.3 MB of the web process with babel's locale data and pytz.)

`_()` takes `{name}` placeholders (str.format), filled after the lookup, so the id keeps them.
The .po is the source; its compiled .mo is made here at start whenever it is missing or older
(into the data directory when the installed package is read-only), so a .po edit shows at the next start.
No binary is kept in git.
"""

from __future__ import annotations

import gettext
import io
import logging
from pathlib import Path

from flask import Flask, current_app, g, has_request_context, request, session

from appliance.files import atomic_write

from . import boxtime

log = logging.getLogger("hotline.web")
TRANSLATIONS = Path(__file__).parent / "translations"
LANGUAGES = ("en", "ru")


def language() -> str:
    user = g.get("user")
    if user:
        return user["lang"]
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"


def _catalogue() -> gettext.NullTranslations | None:
    """The page's catalogue, chosen once per request (as Flask-Babel did); None outside a request."""
    if not has_request_context():
        return None
    if "catalogue" not in g:
        catalogues = current_app.extensions["translations"]
        g.catalogue = catalogues.get(language(), catalogues["en"])
    return g.catalogue


def translate(text: str, **values: object) -> str:
    catalogue = _catalogue()
    if text and catalogue is not None:  # gettext("") is the catalogue's header, never a page's text
        text = catalogue.gettext(text)
    return text.format(**values) if values else text


class Refusal(ValueError):
    """A refusal whose English is its message id: str() is the English with the values in (the log, the audit
    log, tests), words() the same in the page's language. It can be raised outside a request (a unit test).
    An `error` value the text does not name (an exception's own English) goes only into str(), for the audit."""

    def __init__(self, text: str, **values: object) -> None:
        english = text.format(**values) if values else text
        if "error" in values and "{error}" not in text:
            english += f" ({values['error']})"
        super().__init__(english)
        self.text, self.values = text, values

    def words(self) -> str:
        return translate(self.text, **{key: _words(value) for key, value in self.values.items()})


class Phrase(str):
    """A value put into a Refusal that is itself English words (a catalogue entry), not the admin's data."""


def _words(value: object) -> object:
    if isinstance(value, Refusal):
        return value.words()
    return translate(value) if isinstance(value, Phrase) else value


def catalog() -> dict[str, str]:
    """The strings the dashboard's script shows (states), in the page's language."""
    keys = ("idle", "ringing", "on call", "off-hook", "up", "down", "starting", "in menu", "answering",
            "ringing operators", "connected", "Cannot reach the box", "Test ring", "Lift", "Replace", "since",
            "in force", "not in force", "not read yet", "moving",
            # a line's registration, as appliance/modem/dialects/base.py REGISTRATION_WORDS words it
            "not registered, not searching", "registered (home)", "not registered, searching", "registration denied",
            "registration unknown", "registered (roaming)", "unknown")
    return {key: translate(key) for key in keys}


def install(app: Flask) -> None:
    directory = compiled(TRANSLATIONS, Path(app.config["DATA_DIR"]) / "translations")
    app.extensions["translations"] = {
        lang: gettext.translation("messages", str(directory), languages=[lang], fallback=True) for lang in LANGUAGES}
    app.jinja_env.globals.update(_=translate, language=language, i18n_catalog=catalog)
    app.jinja_env.filters["datetime"] = boxtime.shown


def compiled(source: Path, spare: Path) -> Path:
    """The directory whose .mo files match the .po files in source: source itself, or, when the
    package cannot be written (installed read-only), spare, filled with the same layout."""
    try:
        _compile_stale(source, source)
        return source
    except OSError as exc:
        log.info("translations compiled into %s, as %s cannot be written: %s", spare, source, exc)
        _compile_stale(source, spare)
        return spare


def _compile_stale(source: Path, target: Path) -> None:
    for po in source.glob("*/LC_MESSAGES/*.po"):
        mo = target / po.relative_to(source).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        # babel's catalog tools (~1 MB resident) only when a .mo is out of date, not in every web process
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        with po.open("rb") as file:
            catalog = read_po(file)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        mo.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(mo, buffer.getvalue(), mode=0o644)
