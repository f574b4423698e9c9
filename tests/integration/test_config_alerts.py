"""[[alerts]] and [smtp] in the config: `hotline check` refuses each bad value naming its key, and a good
document parses into typed rules."""

from __future__ import annotations

import copy

from appliance import config as configuration
from tests.integration.test_config_keys import hotline_check


def _document(**changes) -> dict:
    document = copy.deepcopy(configuration.default_document())
    document["lines"][0]["port"] = "loop://"
    document["smtp"] = {"host": "mail.example.org", "username": "box", "sender": "box@example.org"}
    document["alerts"] = [{"event": "voicemail", "recipients": ["role:supervisor", "duty@example.org"],
                           "channel": "email", "quiet_hours": "22:00-07:00", "rate_limit": 5}]
    document["alerts"][0].update(changes)
    return document


def test_hotline_check_names_every_bad_alert_key(tmp_path):
    document = _document(event="voicemal", channel="email", quiet_hours="22-7", rate_limit=-1, recipent=["x"])
    document["alerts"].append({"event": "line_down", "recipients": ["ops@example.org"], "channel": "sms"})
    document["smtp"]["security"] = "ssl"
    result = hotline_check(tmp_path, document)
    assert result.returncode != 0
    out = result.stdout + result.stderr
    for expected in ("alerts[0].event: 'voicemal' is not one of voicemail", "alerts[0].quiet_hours: '22-7'",
                     "alerts[0].rate_limit: must be a whole number", "alerts[0].recipent: unknown key; did you mean "
                     "recipients?", "alerts[1].recipients: 'ops@example.org': an SMS rule sends to phone numbers",
                     "smtp.security: 'ssl' is not one of starttls, tls, none"):
        assert expected in out, out


def test_an_email_rule_needs_a_relay_and_a_good_one_parses():
    document = _document()
    del document["smtp"]
    config, problems = configuration.document.check(document, simulated=True)
    assert config is None and any(p.field == "alerts[0].channel" and "[smtp]" in p.message for p in problems)
    config = configuration.parse(_document(), simulated=True)
    (rule,) = config.alerts.rules
    assert rule.roles == ("supervisor",) and rule.emails == ("duty@example.org",) and rule.rate_limit == 5
    assert config.alerts.smtp.port == 587 and config.alerts.smtp.security == "starttls"
