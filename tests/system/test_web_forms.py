"""Adding to a collection from the config forms the way a browser does it: "Add" puts an empty item on the
page, the admin fills it in (and whatever points at it) and one Save keeps it all (issue 16 item 1)."""

from __future__ import annotations

import tomllib
from html.parser import HTMLParser

from werkzeug.datastructures import MultiDict


class _Form(HTMLParser):
    """The fields of form#config-form as a browser would submit them (unticked boxes left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.inside, self.fields, self._select, self._textarea = False, [], None, None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == "config-form"
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("file",):
            if a.get("type") != "checkbox" or "checked" in a:
                self.fields.append([a["name"], a.get("value") or ""])
        elif tag == "select" and a.get("name"):
            self._select = [a["name"], None]
            self.fields.append(self._select)
        elif tag == "option" and self._select is not None and (self._select[1] is None or "selected" in a):
            self._select[1] = a.get("value", "")  # filled from the text below when it has no value
            self._option = "value" not in a
        elif tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], ""]
            self.fields.append(self._textarea)

    def handle_data(self, data: str) -> None:
        if self._select is not None and getattr(self, "_option", False):
            self._select[1] = data
            self._option = False
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self.inside = False


def submit(client, url: str, page: str, button: tuple[str, str] | None = None, **typed: str):
    """Post the page's config form with `typed` filled in (field name -> text), pressing `button`."""
    form = _Form()
    form.feed(page)
    fields = {name: value for name, value in form.fields if name != "new"}
    missing = {name for name in typed if name not in fields and f'name="{name}"' not in page}  # unticked boxes
    assert not missing, f"not on the page: {missing}"
    fields.update(typed)
    data = [(name, value) for name, value in fields.items() if name != "action"]
    data += [("new", value) for name, value in form.fields if name == "new"]
    if button:
        data.append(button)
    return client.post(url, data=MultiDict(data))


def _revisions(web_app) -> int:
    return len(web_app.extensions["web_store"].revisions())


def test_a_new_handset_is_filled_in_and_saved_once(web_app, admin, web_box):
    _, data = web_box
    page = admin.get("/config/handsets").text
    before = _revisions(web_app)
    added = submit(admin, "/config/handsets", page, ("action", "add"), new_name="h3")
    assert added.status_code == 200, added.text
    assert _revisions(web_app) == before, "Add saved an empty handset"
    assert 'name="handsets[2].ring_pin"' in added.text and "is not a GPIO pin" not in added.text
    saved = submit(admin, "/config/handsets", added.text, None, **{
        "handsets[2].name": "Desk 3", "handsets[2].ring_pin": "23", "handsets[2].hook_pin": "24",
        "handsets[2].audio_pins": "gsm1=25", "handsets[2].skills": "legal"})
    assert saved.status_code == 302, saved.text
    handsets = tomllib.loads((data / "config.toml").read_text())["handsets"]
    assert handsets[2] == {"id": "h3", "name": "Desk 3", "kind": "relay", "ring_pin": 23, "hook_pin": 24,
                           "audio_pins": {"gsm1": 25}, "skills": ["legal"]}
    assert _revisions(web_app) == before + 1


def test_a_new_prompt_is_written_and_spoken_after_one_save(web_app, admin, web_box):
    daemon, _ = web_box
    page = admin.get("/config/prompts").text
    added = submit(admin, "/config/prompts", page, ("action", "add"), new_name="welcome_two")
    assert added.status_code == 200 and 'name="prompts.welcome_two.text"' in added.text
    saved = submit(admin, "/config/prompts", added.text, None, **{
        "prompts.welcome_two.text": "Здравствуйте, вы позвонили на горячую линию.", "prompts.welcome_two.lang": "ru"})
    assert saved.status_code == 302, saved.text
    assert "Nothing changed" not in admin.get("/config/prompts").text
    spoken = daemon.prompts["welcome_two"].read_bytes()
    assert len(spoken) > 8000 and any(spoken[i] for i in range(0, len(spoken), 2)), "the new prompt is silent"


def test_an_empty_new_prompt_is_refused_and_kept_on_the_page(web_app, admin):
    page = admin.get("/config/prompts").text
    added = submit(admin, "/config/prompts", page, ("action", "add"), new_name="later")
    before = _revisions(web_app)
    refused = submit(admin, "/config/prompts", added.text)
    assert refused.status_code == 400 and 'data-field="prompts.later"' in refused.text
    assert 'name="new" value="later|' in refused.text, "the unsaved prompt fell off the page"
    assert _revisions(web_app) == before


def test_a_new_node_and_the_key_leading_to_it_are_saved_together(web_app, admin, web_box):
    daemon, _ = web_box
    page = admin.get("/config/flow").text
    added = submit(admin, "/config/flow", page, ("action", "add"), new_name="finance", new_type="route")
    assert added.status_code == 200 and 'name="flow.nodes.finance.next"' in added.text
    saved = submit(admin, "/config/flow", added.text, None, **{
        "flow.nodes.finance.next": "busy", "flow.nodes.finance.skill": "legal",
        "flow.nodes.menu.keys": "1=legal, 2=psychology, 3=message, 0=anyone, 5=finance"})
    assert saved.status_code == 302, saved.text
    assert daemon.core.flow["menu"].keys["5"] == "finance"
    assert daemon.core.flow["finance"].skill == "legal"


def test_an_unreachable_node_is_saved_with_a_warning(web_app, admin, web_box):
    daemon, _ = web_box
    page = admin.get("/config/flow").text
    added = submit(admin, "/config/flow", page, ("action", "add"), new_name="draft", new_type="hangup")
    saved = submit(admin, "/config/flow", added.text)
    assert saved.status_code == 302, saved.text
    assert "draft" in daemon.core.flow.nodes
    shown = admin.get("/config/flow").text
    assert 'class="problem warning" data-field="flow.nodes.draft"' in shown
    assert '<a class="node warn" id="tree-draft"' in shown  # drawn as advice, not as an error
    assert 'data-field="flow.nodes.draft"' not in admin.get("/config/operators").text  # the flow's own advice


def test_an_operator_with_skills_and_timings_is_added_in_one_save(web_app, admin, web_box):
    daemon, data = web_box
    page = admin.get("/config/operators").text
    added = submit(admin, "/config/operators", page, ("action", "add"), new_name="Vera")
    assert added.status_code == 200 and _revisions(web_app) == _revisions(web_app)
    # The handsets' operators (Anna, Boris) were made explicit, so their handsets still name an operator.
    assert 'value="Anna"' in added.text and 'value="Boris"' in added.text
    saved = submit(admin, "/config/operators", added.text, None, **{
        "operators[2].skills": "legal=3, general=1", "operators[2].ring_timeout": "15",
        "operators[2].wrap_up": "30", "operators[2].retry_pause": "10", "operators[2].max_missed": "2"})
    assert saved.status_code == 302, saved.text
    # The router holds operators with their live state: the admin is told the change waits for a restart.
    assert "change at the next restart" in admin.get("/config/operators").text
    vera = tomllib.loads((data / "config.toml").read_text())["operators"][2]
    assert vera == {"name": "Vera", "skills": {"legal": 3, "general": 1}, "ring_timeout": 15, "wrap_up": 30,
                    "retry_pause": 10, "max_missed": 2}


def test_queue_strategy_and_skill_tiers_are_set_from_the_form(web_app, admin, web_box):
    daemon, data = web_box
    page = admin.get("/config/queue").text
    saved = submit(admin, "/config/queue", page, None, **{
        "queue.strategy": "leastrecent", "queue.tiers": "0=3, 30=1, 60=any", "queue.hold_music": "greeting"})
    assert saved.status_code == 302, saved.text
    queue = tomllib.loads((data / "config.toml").read_text())["queue"]
    assert queue["strategy"] == "leastrecent" and queue["hold_music"] == "greeting"
    assert queue["tiers"] == [{"after": 0, "min_level": 3}, {"after": 30, "min_level": 1},
                              {"after": 60, "min_level": "any"}]
    shown = admin.get("/config/queue").text
    assert 'value="0=3, 30=1, 60=any"' in shown
    bad = submit(admin, "/config/queue", shown, None, **{"queue.tiers": "30=1, 60=any"})
    assert bad.status_code == 400 and 'data-field="queue.tiers"' in bad.text


def test_a_number_is_blocked_until_a_day_and_a_priority_list_is_kept(web_app, admin, web_box):
    daemon, data = web_box
    page = admin.get("/config/callers").text
    added = submit(admin, "/config/callers", page, ("action", "add"), new_name="+7 916 000-11-22")
    assert 'name="callers.blocked[0].until"' in added.text
    saved = submit(admin, "/config/callers", added.text, None, **{
        "callers.blocked[0].until": "2099-12-31", "callers.priority": "+79160001111, +79160002222"})
    assert saved.status_code == 302, saved.text
    callers = tomllib.loads((data / "config.toml").read_text())["callers"]
    assert callers["blocked"] == [{"number": "+79160001122", "until": "2099-12-31"}]
    assert callers["priority"] == ["+79160001111", "+79160002222"]
    assert daemon.core.callers.is_blocked("+79160001122", 0) and daemon.core.callers.is_priority("+79160002222")
    page = admin.get("/config/callers").text
    removed = submit(admin, "/config/callers", page, None, **{"delete:callers.blocked[0]": "1"})
    assert removed.status_code == 302 and not daemon.core.callers.is_blocked("+79160001122", 0)


def test_menu_keys_are_rows_and_a_new_queue_is_made_from_its_row(web_app, admin, web_box):
    daemon, _ = web_box
    page = admin.get("/config/flow").text
    assert 'name="flow.nodes.menu.keys:1"' in page and "new node…" in page
    assert 'name="flow.nodes.menu.retries"' in page and 'name="flow.nodes.menu.timeout_prompt"' in page
    saved = submit(admin, "/config/flow", page, None, **{
        "flow.nodes.menu.keys:2": "", "flow.nodes.menu.keys:4": "+new",
        "flow.nodes.menu.keys:4:name": "debts", "flow.nodes.menu.keys:4:type": "route",
        "flow.nodes.menu.keys:4:skill": "legal", "flow.nodes.menu.retries": "3"})
    assert saved.status_code == 302, saved.text
    menu = daemon.core.flow["menu"]
    assert menu.keys["4"] == "debts" and "2" not in menu.keys and menu.retries == 3
    debts = daemon.core.flow["debts"]
    assert debts.type == "route" and debts.skill == "legal" and debts.next  # goes on to voicemail, not nowhere


def test_a_row_s_new_node_that_needs_more_stays_on_the_page_until_filled_in(web_app, admin, web_box):
    daemon, _ = web_box
    page = admin.get("/config/flow").text
    refused = submit(admin, "/config/flow", page, None, **{
        "flow.nodes.menu.keys:6": "+new", "flow.nodes.menu.keys:6:name": "news",
        "flow.nodes.menu.keys:6:type": "play"})
    assert refused.status_code == 400 and 'data-field="flow.nodes.news.prompt"' in refused.text
    assert 'name="new" value="news|play"' in refused.text and "news" not in daemon.core.flow.nodes
    saved = submit(admin, "/config/flow", refused.text, None, **{
        "flow.nodes.news.prompt": "greeting", "flow.nodes.news.next": "menu"})
    assert saved.status_code == 302, saved.text
    assert daemon.core.flow["menu"].keys["6"] == "news" and daemon.core.flow["news"].next == "menu"


def test_a_shift_and_a_webhook_are_added_from_their_forms(web_app, admin, web_box):
    _, data = web_box
    page = admin.get("/config/operators").text
    added = submit(admin, "/config/operators", page, ("action", "add"), new_name="Boris", new_type="shift")
    assert 'name="roster[0].hours"' in added.text
    saved = submit(admin, "/config/operators", added.text, None, **{
        "roster[0].days": "sat, sun", "roster[0].hours": "10:00-16:00"})
    assert saved.status_code == 302, saved.text
    assert tomllib.loads((data / "config.toml").read_text())["roster"] == [
        {"operator": "Boris", "handset": "h2", "days": "sat, sun", "hours": "10:00-16:00"}]

    page = admin.get("/config/webhooks").text
    added = submit(admin, "/config/webhooks", page, ("action", "add"), new_name="https://crm.example.org/hook")
    saved = submit(admin, "/config/webhooks", added.text, None, **{"webhooks[0].events": "call.ended"})
    assert saved.status_code == 302, saved.text
    hook = tomllib.loads((data / "config.toml").read_text())["webhooks"][0]
    assert hook["url"] == "https://crm.example.org/hook" and hook["events"] == ["call.ended"]
    assert len(hook["secret"]) >= 16


def _wav(seconds: float = 1.0) -> bytes:
    import io
    import math
    import struct
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 8000 * 2 * math.pi * 440)))
                                   for i in range(int(8000 * seconds))))
    return out.getvalue()


def test_a_new_prompt_is_made_from_a_recording_in_one_step(web_app, admin, web_box):
    import io

    daemon, data = web_box
    page = admin.get("/config/prompts").text
    assert 'id="upload-new"' in page
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    reply = admin.post("/config/prompts/new-upload", data={"csrf_token": token, "name": "hello_ru",
                                                           "recording": (io.BytesIO(_wav()), "hello.wav")})
    assert reply.status_code == 302
    spec = tomllib.loads((data / "config.toml").read_text())["prompts"]["hello_ru"]
    # The daemon made its sound: a cache file it plays from (half a second of 8 kHz audio and more).
    assert (data / "uploads" / spec["file"]).exists() and daemon.prompts["hello_ru"].stat().st_size > 8000
    bad = admin.post("/config/prompts/new-upload", data={"csrf_token": token, "name": "Hello There",
                                                         "recording": (io.BytesIO(_wav()), "hello.wav")})
    assert bad.status_code == 302 and "lowercase letters" in admin.get("/config/prompts").text


def test_a_lines_voice_path_is_chosen_from_the_form(web_app, admin, web_box):
    """Which way the call's voice goes (a sound card, the modem's USB voice port or its USB sound card) is a field
    of the line, in words; a path the modem has not, or a voice port that is the AT port, is refused at the field."""
    _, data = web_box
    page = admin.get("/config/lines").text
    assert 'name="lines[0].audio"' in page and "the modem&#39;s USB voice port" in page
    port = tomllib.loads((data / "config.toml").read_text())["lines"][0]["port"] if (data / "config.toml").exists() \
        else None
    refused = submit(admin, "/config/lines", page, None, **{"lines[0].audio": "serial",
                                                            "lines[0].audio_port": port or "/dev/ttyUSB2"})
    assert refused.status_code == 400 and 'data-field="lines[0].audio"' in refused.text
    assert "modem has no such voice path" in refused.text
    saved = submit(admin, "/config/lines", admin.get("/config/lines").text, None, **{"lines[0].audio": "alsa"})
    assert saved.status_code == 302, saved.text
    assert tomllib.loads((data / "config.toml").read_text())["lines"][0]["audio"] == "alsa"


def test_a_language_nodes_keys_are_rows_naming_languages(web_app, admin, web_box):
    daemon, _ = web_box
    nodes = [n for n, node in daemon.core.flow.nodes.items() if node.type == "language"]
    if not nodes:  # the test box's flow has no language choice: add one through the TOML-free form
        page = admin.get("/config/flow").text
        added = submit(admin, "/config/flow", page, ("action", "add"), new_name="pick", new_type="language")
        assert added.status_code == 200, added.text
        nodes = ["pick"]
        page = added.text
    else:
        page = admin.get("/config/flow").text
    node = nodes[0]
    # Rows of key → a language in words, not a "1=en, 2=ru" text box.
    assert f'name="flow.nodes.{node}.keys:1"' in page and ">Russian</option>" in page
    assert f'id="f-flow.nodes.{node}.keys" value=' not in page
    typed = {f"flow.nodes.{node}.keys:{key}": "" for key in "1234567890*#"}
    typed.update({f"flow.nodes.{node}.keys:1": "ru", f"flow.nodes.{node}.keys:2": "en"})
    saved = submit(admin, "/config/flow", page, None, **typed)
    assert saved.status_code == 302, saved.text
    assert daemon.core.flow[node].keys == {"1": "ru", "2": "en"}
