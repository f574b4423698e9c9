"""The fleet page and `hotline fleet` (issue 21): three boxes on one real Mosquitto, seen from one box's web page
in Chromium and from a laptop's command line; a box killed outright shows offline without a reload."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
import tomli_w

from appliance.service import control
from tests.support.broker import (  # noqa: F401 - the fixtures
    box_data,
    broker_fixture,
    fleet_document,
    prompt_cache_fixture,
)
from tests.support.browser import logged_in
from tests.support.waiting import wait_until
from tests.support.web import set_up
from tests.support.web_server import serving
from web import create_app


def rows(page) -> dict[str, list[str]]:
    cells = page.eval_on_selector_all("#fleet tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
    return {row[0]: row for row in cells}


@pytest.mark.slow
def test_the_fleet_page_shows_three_boxes_live_and_a_killed_box_offline(broker, prompt_cache, start_box, browser,
                                                                         tmp_path):
    a_data, b_data, c_data = (box_data(prompt_cache, tmp_path / name) for name in ("a", "b", "c"))
    a_document = fleet_document(broker, "office-a")
    a_document["lines"][0]["forward_to"] = "+79169990002"  # office-b's number: overflow through the network
    a, _ = start_box(a_document, data=a_data)
    b, _ = start_box(fleet_document(broker, "office-b"), data=b_data)
    document = tmp_path / "c.json"
    document.write_text(json.dumps(fleet_document(broker, "office-c")))
    c = subprocess.Popen([sys.executable, "-m", "tests.support.fleet_box", str(c_data), str(document)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    app = create_app(a_data, control_path=a.control_path)
    set_up(app.test_client(), a_data)
    page = browser.new_page()
    try:
        assert c.stdout.readline().strip() == "ready"
        with serving(app) as port:
            base = f"http://127.0.0.1:{port}"
            logged_in(page, base, a_data)
            page.goto(base + "/fleet")
            # Three boxes online, each with its line up (a box's first status may go out while it starts).
            seen = wait_until(lambda: len(found := rows(page)) == 3 and
                              all(r[2] == "online" and r[3] == "1/1" for r in found.values()) and found,
                              what="three boxes online, their lines up")
            assert seen["office-b"][4] == "2"  # two operators free

            # A change on office-b reaches the page through the broker, with no reload.
            assert control.call(b.control_path, "operator.pause", operator="Anna", reason="break")["ok"]
            wait_until(lambda: rows(page)["office-b"][4] == "1", what="office-b's free operators at 1")

            # office-c loses its power: the broker publishes its last will and the page says so.
            c.send_signal(signal.SIGKILL)
            c.wait(10)
            wait_until(lambda: rows(page)["office-c"][2] == "offline", timeout=3 * 2 + 4,
                       what="office-c offline within its keep-alive")
            assert rows(page)["office-a"][2] == "online"

            # office-a's own line page (the dashboard's lines) shows its forwarding, as the network has it.
            page.goto(base + "/")
            page.wait_for_function("""() => [...document.querySelectorAll('#lines tbody td')]
                .some((td) => td.textContent === '+79169990002 (in force)')""", timeout=10000)
            page.close()  # its poll would hold the server's last connection open

        # A laptop with only the [fleet] table sees the same, from the command line.
        laptop = tmp_path / "laptop.toml"
        table = {k: v for k, v in broker.fleet("laptop").items() if k != "box"}
        laptop.write_text(tomli_w.dumps({"fleet": table}))
        printed = subprocess.run([sys.executable, "-m", "appliance.cli", "fleet", "--config", str(laptop), "--once"],
                                 capture_output=True, text=True, timeout=60)
        assert printed.returncode == 0, printed.stderr
        lines = {line.split()[0]: line.split() for line in printed.stdout.splitlines()[1:]}
        assert lines["office-a"][1:4] == ["online", "1/1", "2"]
        assert lines["office-b"][1:4] == ["online", "1/1", "1"]
        assert lines["office-c"][1] == "OFFLINE"
    finally:
        page.close()
        if c.poll() is None:
            c.kill()
