"""Every page, as admin, supervisor and operator, with calls, voicemail, callbacks and a full config on the box,
read in Russian: any English word a user would see fails the test (text, placeholders, titles, buttons).

What the box's users typed or the caller sent (user names, ids of nodes and prompts, numbers, the TOML itself)
is data, marked in the templates with the HTML attribute translate="no", and skipped here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from html.parser import HTMLParser

import pytest

from appliance import config as configuration
from tests.support.waiting import wait_until
from tests.support.web import PASSWORD, api, api_status, csrf, csrf_token, login

# Names, units and formats a Russian page writes in Latin letters too.
ALLOWED = {"SIM", "GSM", "LTE", "DTMF", "TOML", "API", "CSV", "JSON", "SMS", "USB", "GPIO", "PIN", "HTTPS", "HTTP",
           "FLAC", "WAV", "OGG", "IVR", "ID", "AT", "ALSA", "UTC", "MQTT", "FXO", "URL", "CRM", "PCM", "SLIC", "MB",
           "KB", "Hz", "dB", "ms", "BCM", "Bearer", "Raspberry", "Pi", "SQLite", "Ctrl", "hotline", "setup-code",
           "trusted-host", "web",
           "simulate",  # the box's commands
           "any"}  # "any" is typed as it is (a skill tier's lowest level)
# The box's own data: the operators' names in its config (a caller's data is digits).
DATA = {handset["operator"] for handset in configuration.default_document()["handsets"]}
# Attributes a user reads (a button's value is its label).
READ_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")
# A token with a digit or a sign of code (h1, gsm1, sim800, /dev/ttyUSB2, 1=legal, {n}) is an id or an example
# of a value, not a word; one with only letters and _ (menu_path, on_call, ENTERQUEUE) is English.
_TOKEN = re.compile(r"[^\s,;()«»“”\"]+")
_CODE = re.compile(r"[\d/:=+{}@.#*]")


class _Visible(HTMLParser):
    """The text a reader of the page sees, outside elements marked translate="no", scripts and styles."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, hidden)
        self.texts: list[str] = []

    def _hidden(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        hidden = self._hidden() or tag in ("script", "style", "title") or values.get("translate") == "no"
        if not hidden:
            self.texts += [f"{tag}[{name}]={values[name]}" for name in READ_ATTRIBUTES if values.get(name)]
            if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
                self.texts.append(f"input[value]={values['value']}")
        if tag not in self.VOID:
            self.stack.append((tag, hidden))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not self._hidden() and data.strip():
            self.texts.append(data.strip())


def english(page: str) -> list[str]:
    """The visible strings of the page holding a Latin-letter word that is not a name, unit or format."""
    parser = _Visible()
    parser.feed(page)
    return [text for text in parser.texts if any(_english(token) for token in _TOKEN.findall(text.split("]=", 1)[-1]))]


def _english(token: str) -> bool:
    token = token.strip("'-.!?…—`")  # `hotline setup-code` is a command
    if _CODE.search(token) or token in ALLOWED or token in DATA:
        return False
    return any(re.search(r"[A-Za-z]", part) and part not in ALLOWED for part in token.split("-"))  # PIN-код


def test_the_reader_sees_what_a_user_sees():
    page = ('<p title="Hang up">Звонок <b>idle</b> <span translate="no">h1 <i>menu</i></span> SIM</p>'
            '<input type="submit" value="Save"><input name="x" value="typed"><script>var a = "x";</script>'
            '<input placeholder="09:00-18:00"><dt>menu_path</dt><dd>h2 · gsm1 · 1=legal</dd><p>ENTERQUEUE</p>')
    assert english(page) == ["p[title]=Hang up", "idle", "input[value]=Save", "menu_path", "ENTERQUEUE"]


@pytest.fixture(scope="module")
def people(web_app):
    """A supervisor and an operator, both reading Russian, and the admin switched to Russian."""
    admin = web_app.test_client()
    login(admin)
    token = csrf(admin)
    for name, role in (("sveta", "supervisor"), ("oleg", "operator")):
        admin.post("/users", data={"username": name, "password": PASSWORD, "role": role, "lang": "ru",
                                   "handset": "h1" if role == "operator" else "", "csrf_token": token})
    store = web_app.extensions["web_store"]
    admin_id = next(user["id"] for user in store.users() if user["username"] == "admin")
    store.update_user(admin_id, lang="ru")
    clients = {}
    for name in ("admin", "sveta", "oleg"):
        client = web_app.test_client()
        assert login(client, name).status_code == 302
        clients[name] = client
    return clients


@pytest.fixture(scope="module")
def busy_box(web_app, web_box, people):
    """A finished call with its timeline, a caller on the line now, voicemail, a callback and an article."""
    daemon, data = web_box
    client = people["admin"]
    api(client, "/api/sim/call", {"caller": "+79165550101"})
    wait_until(lambda: any(c["node"] == "menu" for c in api_status(client)["calls"]), 15, "the menu")
    api(client, "/api/sim/dtmf", {"digits": "2"})
    wait_until(lambda: any(h["id"] == "h2" and h["state"] == "ringing" for h in api_status(client)["handsets"]), 10,
               "h2 to ring")
    api(client, "/api/sim/handsets/h2/offhook")
    call = wait_until(lambda: next((c for c in api_status(client)["calls"] if c["state"] == "connected"), None), 10,
                      "the call to connect")
    (data / "voicemail").mkdir(exist_ok=True)
    (data / "voicemail" / "ru.flac").write_bytes(b"fLaC")
    daemon.store.voicemail_saved(call["id"], "voicemail/ru.flac", 2.5, "+79165550101", at=time.time())
    daemon.store.callback_update("req-ru", None, "+79160001122", "waiting", 1, "busy", at=time.time())
    api(client, "/api/sim/handsets/h2/onhook")
    wait_until(lambda: not api_status(client)["calls"], 15, "the call to end")
    # A caller now in the menu, so the dashboard and the console show a live call.
    api(client, "/api/sim/call", {"caller": "+79165550202"})
    wait_until(lambda: any(c["node"] == "menu" for c in api_status(client)["calls"]), 15, "the second call's menu")
    form = client.get("/kb/new")
    if form.status_code == 200:
        client.post("/kb/new", data={"csrf_token": csrf_token(form.text), "title": "Первая помощь",
                                     "body": "Текст статьи", "tags": "помощь"})
    # A rejected save, so the config page shows validation messages.
    page = client.get("/config/handsets").text
    bad = client.post("/config/handsets", data={"csrf_token": csrf_token(page), "handsets[0].ring_pin": "99"})
    yield call, bad.text
    api(client, "/api/sim/hangup")


def _pages(web_app, client) -> list[str]:
    """Every page this client may open: each GET route, with the ids of the data on the box."""
    from web import forms

    urls = set()
    for rule in web_app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.rule.startswith("/api/"):
            continue
        if "<" not in rule.rule:
            urls.add(rule.rule)
    urls |= {f"/config/{name}" for name in forms.SECTIONS}
    calls = client.get("/calls").text
    urls |= set(re.findall(r'href="(/calls/[^"?#]+)"', calls))
    urls |= set(re.findall(r'href="(/kb/\d+(?:/edit)?)"', client.get("/kb/").text))
    return sorted(urls)


@pytest.mark.slow
@pytest.mark.parametrize("who", ["admin", "sveta", "oleg"])
def test_every_page_reads_in_russian(web_app, people, busy_box, who):
    client = people[who]
    untranslated = {}
    seen = 0
    for url in _pages(web_app, client):
        reply = client.get(url)
        if reply.status_code in (301, 302) or not reply.content_type.startswith("text/html"):
            continue
        seen += 1
        found = english(reply.text)
        if found:
            untranslated[f"{url} ({reply.status_code})"] = found
    # A page nobody has, and the refusal an operator meets, are pages too.
    for url in ("/no-such-page", "/calls/0123456789abcdef"):
        found = english(client.get(url).text)
        if found:
            untranslated[url] = found
    assert seen >= (3 if who == "oleg" else 10)
    assert not untranslated, "English on Russian pages:\n" + "\n".join(f"{u}: {f}" for u, f in untranslated.items())


def test_a_refused_config_says_why_in_russian(busy_box):
    _, page = busy_box
    problems = re.findall(r'<span class="problem[^>]*>(.*?)</span>', page, re.S)
    assert problems, "the bad pin was not refused"
    assert english(page) == [], english(page)


def test_the_config_checks_problems_read_in_russian(tmp_path):
    """Many wrong values at once, as a hurried admin types them: every problem the check finds reads in Russian,
    its field named in words."""
    from web import create_app
    from web.labels import problem_text

    document = configuration.default_document()
    document["box"]["language"] = "de"
    document["ringing"] = {"cadence": "fast"}
    document["lines"][0]["baudrate"] = 1234
    document["lines"][0]["sim_pin"] = "12"
    document["lines"][0]["audio"] = "serial"  # a SIM800 has no USB voice port, and none is named
    document["handsets"][0]["ring_pin"] = 99
    document["handsets"][1]["kind"] = "wireless"
    document["schedule"] = {"timezone": "Mars/Base", "always_open": False,
                            "hours": {"mon": ["18:00-09:00"], "tue": ["9-18"]}, "holidays": ["soon"]}
    nodes = document["flow"]["nodes"]
    nodes["menu"]["keys"]["5"] = "nowhere"
    nodes["welcome"]["prompt"] = "no_such_prompt"
    nodes["extra"] = {"type": "teleport"}
    _config, problems = configuration.check(document)
    assert len(problems) >= 10, problems
    with create_app(tmp_path).test_request_context("/?lang=ru"):
        shown = [problem_text(problem, True) for problem in problems]
    english_ones = [text for text in shown if english(f"<p>{text}</p>")]  # the admin's values are translate="no"
    assert not english_ones, "\n".join(english_ones)


def test_a_refused_form_says_why_in_russian(people):
    """What the web app itself refuses (a bad new name, a short password) reads in Russian too."""
    admin = people["admin"]
    page = admin.get("/config/prompts").text
    reply = admin.post("/config/prompts", data={"csrf_token": csrf_token(page), "action": "add",
                                                "new_name": "Bad Name"})
    flashes = re.findall(r'<p class="flash error"[^>]*>(.*?)</p>', reply.text, re.S)
    assert flashes and "строчные латинские буквы" in flashes[0], flashes
    reply = admin.post("/users", data={"csrf_token": csrf(admin), "action": "add", "username": "nina",
                                       "password": "short", "role": "operator", "lang": "ru"})
    assert "пароль должен быть не короче 8 знаков" in reply.text
    for text in flashes + re.findall(r'<p class="flash error"[^>]*>(.*?)</p>', reply.text, re.S):
        assert not english(f"<p>{text}</p>"), text


def test_the_catalogue_is_compiled_again_when_the_po_changes(tmp_path):
    """An edited .po shows at the next start: the .mo is made again when older than it."""
    import gettext
    import os
    import shutil

    from web import i18n

    source = tmp_path / "translations"
    shutil.copytree(i18n.TRANSLATIONS, source, ignore=shutil.ignore_patterns("*.mo"))
    assert i18n.compiled(source, tmp_path / "spare") == source
    mo = source / "ru" / "LC_MESSAGES" / "messages.mo"
    with mo.open("rb") as compiled:
        assert gettext.GNUTranslations(compiled).gettext("Dashboard") == "Обзор"
    po = mo.with_suffix(".po")
    po.write_text(po.read_text(encoding="utf-8").replace('msgstr "Обзор"', 'msgstr "Сводка"'), encoding="utf-8")
    later = mo.stat().st_mtime + 1
    os.utime(po, (later, later))
    i18n.compiled(source, tmp_path / "spare")
    with mo.open("rb") as compiled:
        assert gettext.GNUTranslations(compiled).gettext("Dashboard") == "Сводка"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext's msgfmt is not on this machine")
def test_the_russian_catalogue_is_one_a_translators_tools_open():
    """Babel compiles past a stray msgstr with no msgid (a merge's leftover); GNU msgfmt, Poedit and the other
    tools a translator uses refuse the whole file."""
    from web import i18n

    po = i18n.TRANSLATIONS / "ru" / "LC_MESSAGES" / "messages.po"
    checked = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(po)], capture_output=True, text=True,
                             timeout=60)
    assert checked.returncode == 0, checked.stderr


def test_the_first_pages_a_stranger_sees_read_in_russian(tmp_path):
    """Setting up the box, before anyone is logged in, with ?lang=ru (its form posts back to that URL)."""
    from web import create_app

    client = create_app(tmp_path).test_client()
    page = client.get("/setup?lang=ru").text
    assert "Первоначальная настройка" in page and not english(page), english(page)
    form = {"username": "a", "password": "short", "password2": "short", "lang": "ru", "csrf_token": csrf_token(page),
            "setup_code": (tmp_path / "setup-code").read_text().strip()}
    refused = client.post("/setup?lang=ru", data=form)
    assert refused.status_code == 400 and not english(refused.text), english(refused.text)


def _errors(page: str) -> list[str]:
    return re.findall(r'<p class="flash error"[^>]*>(.*?)</p>', page, re.S)


def assert_refused_in_russian(client, attempts: dict[str, tuple[str, dict | None]]) -> None:
    """Each attempt (what it is -> its URL and form; no form: a GET) is refused, and what the page says of it
    (its flashes, its alerts) reads in Russian."""
    english_ones, seen = {}, {}
    for what, (url, form) in attempts.items():
        reply = client.get(url) if form is None else client.post(url, data={"csrf_token": csrf(client), **form},
                                                                  follow_redirects=True)
        said = _errors(reply.text) + re.findall(r'<p[^>]*role="alert"[^>]*>(.*?)</p>', reply.text, re.S)
        seen[what] = said
        found = [text for text in said if english(f"<p>{text}</p>")]
        if found:
            english_ones[what] = found
    assert all(seen.values()), f"a refusal was not shown: {seen}"
    assert not english_ones, "English refusals on a Russian page:\n" + "\n".join(
        f"{what}: {found}" for what, found in english_ones.items())


def _archive(members: dict[str, bytes]) -> bytes:
    """A tar.gz holding these members (a backup as someone might hand-make or damage it)."""
    import io
    import tarfile

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_every_refused_restore_says_why_in_russian(web_app, people):  # noqa: F811
    """Each way a restore is refused, as a Russian admin meets it: the flash reads in Russian (file names and
    sizes are data), and the box is unchanged."""
    import io
    import json

    from web import backup, sealed

    admin = people["admin"]
    manifest = json.dumps(backup.manifest()).encode()
    newer = json.dumps(dict(backup.manifest(), web_schema=backup.manifest()["web_schema"] + 1)).encode()
    wrong_key = io.BytesIO()
    sealed.seal(io.BytesIO(_archive({"manifest.json": manifest})), wrong_key, "another passphrase")
    cases = {  # what is wrong -> (the form's fields, the file)
        "no file": ({}, None),
        "not ticked": ({"replace": ""}, b"x"),
        "not a backup": ({}, b"not a tar.gz at all"),
        "wrong passphrase": ({"passphrase": "a long passphrase"}, wrong_key.getvalue()),
        "cut seal": ({"passphrase": "another passphrase"}, wrong_key.getvalue()[:60]),
        "no manifest": ({}, _archive({"config.toml": b""})),
        "unexpected item": ({}, _archive({"manifest.json": manifest, "etc/passwd": b"root"})),
        "not audio": ({}, _archive({"manifest.json": manifest, "uploads/greeting.wav": b"text, not sound"})),
        "bad key": ({}, _archive({"manifest.json": manifest, "privacy.key": b"short"})),
        "newer": ({}, _archive({"manifest.json": newer})),
        "unreadable manifest": ({}, _archive({"manifest.json": b"{"})),
        "not sqlite": ({}, _archive({"manifest.json": manifest, "calls.db": b"not a database"})),
        "bad config": ({}, _archive({"manifest.json": manifest, "config.toml": b"[box\n"})),
    }
    users = web_app.extensions["web_store"].users()
    english_ones = {}
    for case, (fields, blob) in cases.items():
        form = {"csrf_token": csrf(admin), "replace": "yes", **fields}
        if blob is not None:
            form["backup"] = (io.BytesIO(blob), "backup.sealed")
        reply = admin.post("/backup/restore", data=form)
        errors = _errors(reply.text)
        assert reply.status_code == 400 and errors, (case, reply.status_code)
        found = [e for e in errors if english(f"<p>{e}</p>")]
        if found:
            english_ones[case] = found
    assert not english_ones, "English refusals on a Russian page:\n" + "\n".join(
        f"{case}: {found}" for case, found in english_ones.items())
    assert web_app.extensions["web_store"].users() == users


def test_the_daemons_refusals_read_in_russian(web_app, people, busy_box):  # noqa: F811
    """What the hotline service itself refuses (its control socket's English), shown to a Russian admin: a
    restart while a caller is in the menu, a forced state ending in the past, a transfer of a call that is
    not with an operator, a test ring of a handset that does not exist."""
    admin = people["admin"]
    if not api_status(admin)["calls"]:  # the busy box's caller left the menu by now: another one rings
        api(admin, "/api/sim/call", {"caller": "+79165550303"})
    live = wait_until(lambda: next((c for c in api_status(admin)["calls"] if c["node"] == "menu"), None), 20,
                      "a caller in the menu")
    assert_refused_in_russian(admin, {
        "restart": ("/config/restart", {"confirmed": "yes"}),
        "override": ("/config/schedule/override", {"mode": "closed", "until": "2001-01-01T00:00"}),
        "transfer": ("/console/transfer", {"call_id": live["id"], "number": "+78001234567"}),
        "test ring": ("/config/handsets/h9/test-ring", {}),
    })
    assert api_status(admin)["calls"], "the restart went ahead under a live call"


def test_the_dashboards_alarms_and_an_unreachable_box_read_in_russian(web_app, web_box, people):  # noqa: F811
    """The alarms the dashboard's script writes, and the error it shows when the service is away, come in the
    page's language: a full sentence the catalogue knows, else a headline with the daemon's English beside it."""
    from web import create_app

    daemon, data = web_box
    admin = people["admin"]
    daemon.alarms.set("disk.low", "warning", "the data disk (/var/lib/hotline) has 40.0 MB free of 1000 MB "
                      "(warning below 100 MB): when it is full, call records wait in memory until space is freed")
    daemon.alarms.set("maintenance.retention", "error", "retention failed: database is locked")
    try:  # the dashboard's answer is made at most once a second for all who look: wait for one made since
        def shown() -> dict | None:
            found = {a["id"]: a for a in admin.get("/api/dashboard").json["status"]["alarms"]}
            return found if "disk.low" in found else None
        alarms = wait_until(shown, 10, "the dashboard to show the new alarms")
    finally:
        daemon.alarms.clear("disk.low")
        daemon.alarms.clear("maintenance.retention")
    assert "свободно 40.0 МБ" in alarms["disk.low"]["words"] and alarms["disk.low"]["detail"] is None
    assert alarms["maintenance.retention"]["detail"] == "retention failed: database is locked"
    for alarm in alarms.values():
        assert not english(f"<p>{alarm['words']} {alarm['since_text']}</p>"), alarm
    away = create_app(data, control_path=data / "no-such.sock").test_client()
    login(away)
    reply = away.get("/api/dashboard")
    assert reply.status_code == 503 and "Служба горячей линии не отвечает" in reply.json["words"], reply.json


def test_the_alert_log_reads_in_russian(web_box, people):
    """The alerts page of a box whose alerts went wrong, read by a Russian admin: every event (the fleet's too)
    and every failure in Russian words, the daemon's English only as the detail beside a Russian headline, and
    no state word broken in the middle at 800 px (the CSS keeps whole words in a cell)."""
    from appliance.config.alerts import EVENTS
    from appliance.records.store.alerts import AlertLog

    _daemon, data = web_box
    log = AlertLog(data / "calls.db")
    errors = {"email": ["no [smtp] relay is configured", "ConnectionRefusedError: [Errno 111] Connection refused",
                        "OSError: the relay needs a password: none is set (data/smtp-password)"],
              "sms": ["no line is up to send the SMS from", "the modem gave no verdict within 60 s", "+CMS ERROR: 500"]}
    try:
        for index, event in enumerate(EVENTS + ("digest",)):
            channel = ("email", "sms")[index % 2]
            log.add({"rule": 0, "event": event, "channel": channel, "recipient": "+79160001122", "subject": None,
                     "body": "x", "state": "failed", "created_at": time.time(), "due_at": time.time(),
                     "attempts": 5, "last_error": errors[channel][index // 2 % 3]})
    finally:
        log.close()
    page = people["admin"].get("/alerts").text
    assert page.count("<tr>") >= len(EVENTS) + 1
    assert not english(page), english(page)
    assert "Connection refused" in page  # the technician's detail is kept, marked as not to be translated


def test_why_a_caller_came_back_from_a_move_reads_in_russian(tmp_path):
    """The fleet page's moves table, in Russian: each reason the daemon gives for a caller back in line (the
    sibling had no operator free any more, the modem's dial results, the network's refusals) is in Russian words;
    a box's name stays as it is."""
    from web import create_app
    from web.fleet import _move

    reasons = ["kazan has no operator free for the caller any more", "busy", "no answer", "no carrier", "no dialtone",
               "failed: +CME ERROR: 30", "the network refused to hold the call: +CME ERROR: 3",
               "the caller hung up during the transfer", "the transfer failed",
               "the network refused both explicit call transfer and a conference",
               "called off: kazan has no operator free for the caller any more"]
    with create_app(tmp_path).test_request_context("/?lang=ru"):
        shown = {why: _move({"at": time.time(), "way": "back", "box": "kazan", "detail": why})[3] for why in reasons}
    english_ones = {why: words for why, words in shown.items() if english(f"<p>{words}</p>".replace("kazan", ""))}
    assert not english_ones, english_ones
    assert "kazan" in shown[reasons[0]]


def test_a_refused_speech_upload_says_why_in_russian(people):
    """Each way the speech page refuses a model or a voice, as a Russian admin meets it: the flash reads in
    Russian (the file's name is data), and nothing is installed."""
    import io
    import json
    import zipfile

    def archive(*names: str) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zipped:
            for name in names:
                zipped.writestr(name, b"x")
        return out.getvalue()

    onnx = b"\x08" + bytes(2048)
    cases = {
        "model language": ("/speech/model", {"language": "xx", "model": (io.BytesIO(archive("a")), "vosk.zip")}),
        "not an archive": ("/speech/model", {"language": "ru", "model": (io.BytesIO(b"text"), "vosk.zip")}),
        "no model in it": ("/speech/model", {"language": "ru", "model": (io.BytesIO(archive("a/readme")), "vosk.zip")}),
        "half a model": ("/speech/model", {"language": "ru", "model": (io.BytesIO(archive("m/am/final.mdl")),
                                                                         "vosk.zip")}),
        "voice not .onnx": ("/speech/voice", {"onnx": (io.BytesIO(onnx), "ru.bin"),
                                              "config": (io.BytesIO(b"{}"), "ru.onnx.json")}),
        "voice not ONNX": ("/speech/voice", {"onnx": (io.BytesIO(b"text"), "ru.onnx"),
                                             "config": (io.BytesIO(b"{}"), "ru.onnx.json")}),
        "settings not JSON": ("/speech/voice", {"onnx": (io.BytesIO(onnx), "ru.onnx"),
                                                "config": (io.BytesIO(b"{"), "ru.onnx.json")}),
        "settings not Piper's": ("/speech/voice", {"onnx": (io.BytesIO(onnx), "ru.onnx"),
                                                   "config": (io.BytesIO(json.dumps({"a": 1}).encode()),
                                                              "ru.onnx.json")}),
    }
    assert_refused_in_russian(people["admin"], cases)


def test_the_new_pages_refusals_read_in_russian(people):
    """What the handover notes, the text conversations, the operators page and the console's hand-over refuse,
    as a Russian admin meets it (an empty note or reply, a conversation or note gone, a wrong verb, no desk)."""
    attempts = {"/handover": {"text": ""}, "/texts/999/reply": {"text": ""}, "/texts/999": None,
                "/handover/999/ack": {}, "/texts/999/take": {}, "/texts/999/close": {},
                "/operators/Anna": {"verb": "bogus"}, "/console/handover": {"call_id": "x"}}
    assert_refused_in_russian(people["admin"], {url: (url, form) for url, form in attempts.items()})


def test_the_dashboards_script_names_a_lines_registration_in_russian(people):
    """The dashboard's script shows each line's network registration (the modem's +CREG, in the daemon's
    English): the page hands it the Russian for every value the daemon may send."""
    import json

    from appliance.modem.dialects.base import REGISTRATION_WORDS

    page = people["admin"].get("/").text
    words = json.loads(re.search(r'<script type="application/json" id="i18n">(.*?)</script>', page, re.S)[1])
    untranslated = [said for said in [*REGISTRATION_WORDS.values(), "unknown"]
                    if english(f"<p>{words.get(said, said)}</p>")]
    assert not untranslated, untranslated
    assert "Hotline.t(modem.registration)" in people["admin"].get("/static/dashboard.js").text
