"""The alert sender: a thread that turns the box's events into alerts by the rules, logs each, and sends them.

The daemon's loop only hands an event over (`take`: a queue put, never a wait). Everything else happens
here: rows in the alert log (calls.db), held ones released as digests, e-mail through the relay and SMS
through a line. A send that fails is tried again with a growing pause (30 s, 1 min, 2 min ... 1 h) up to
`max_attempts`, the row kept in the log meanwhile, so a relay that is down for hours loses nothing and a box
restarted meanwhile sends on from the log.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..config.alerts import PASSWORD_FILE, AlertRule, Alerts
from ..core.box_events import BoxEvent
from ..records.privacy import Privacy, appear
from ..records.store.alerts import AlertLog
from . import texts
from .mailer import send_mail

log = logging.getLogger(__name__)

# How long a voicemail's alert waits for the transcript before it goes without (a follow-up then carries it):
# a minute's message takes about a CPU-minute to transcribe on a Pi Zero 2 W core (docs/speech.md), and the
# people on duty should not wait longer than that to hear that someone left a message.
TRANSCRIPT_WAIT = 120.0
LATE_KEPT = 50  # voicemails whose alert went without their transcript, remembered for a follow-up

SendSms = Callable[[str, str], "str | None"]  # (number, text) -> why it was not sent, or None once the modem took it
Mail = Callable[..., None]


def hold_until(rule: AlertRule, now: float, tz: ZoneInfo, joined: float | None, recent: list[float]) -> float | None:
    """When an alert of `rule` made now may go: None for at once, else the time it is held until.

    `joined`: when alerts already held for the same rule and recipient go (a new one goes with them);
    `recent`: when this rule's messages to the recipient went in the last hour (the rate limit's count)."""
    release = joined
    if rule.digest and release is None:
        release = now + rule.digest * 60
    local = datetime.fromtimestamp(now, tz)
    if rule.quiet_at(local.time()):
        end = datetime.combine(local.date(), rule.quiet_hours[1], tz)  # type: ignore[index]
        if end <= local:
            end += timedelta(days=1)
        release = max(release or 0.0, end.timestamp())
    if rule.rate_limit and len(recent) >= rule.rate_limit:
        release = max(release or 0.0, recent[-rule.rate_limit] + 3600.0)
    return release


def role_contacts(web_db: Path, role: str, channel: str) -> list[str]:
    """The phone numbers (sms) or e-mail addresses (email) web users with `role` left for alerts."""
    column = "phone" if channel == "sms" else "email"
    if not web_db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{web_db}?mode=ro", uri=True, timeout=5) as conn:
            rows = conn.execute(f"SELECT {column} FROM users WHERE role = ? AND {column} IS NOT NULL AND "
                                f"{column} != '' ORDER BY username", [role]).fetchall()
    except sqlite3.OperationalError as exc:  # no users table yet, or a web store older than the contact columns
        log.warning("alert recipients with role %s cannot be read from %s: %s", role, web_db, exc)
        return []
    return [row[0] for row in rows]


class AlertSender:
    def __init__(self, data_dir: Path, alerts: Alerts, *, box: str, language: str, timezone: str,
                 privacy: Privacy, send_sms: SendSms, clock: Callable[[], float] = time.time, mail: Mail = send_mail,
                 base_delay: float = 30.0, max_delay: float = 3600.0, max_attempts: int = 12,
                 on_trouble: Callable[[str | None], None] | None = None,
                 transcript_due: Callable[[], bool] = lambda: False) -> None:
        self.data_dir, self.alerts, self.box, self.language = data_dir, alerts, box, language
        self.tz, self.privacy, self.send_sms, self.clock, self.mail = ZoneInfo(timezone), privacy, send_sms, clock, mail
        self.base_delay, self.max_delay, self.max_attempts = base_delay, max_delay, max_attempts
        self.on_trouble = on_trouble  # told why sending fails (an alarm), and None once a message goes again
        self.transcript_due = transcript_due  # whether a voicemail saved now gets a transcript (speech on)
        self._awaiting: dict[int, str] = {}  # alert id -> the call whose voicemail transcript it waits for
        # call id -> (rule, recipient, caller key) of its voicemail alerts that went without the transcript
        self._late: dict[str, list[tuple[int, str, str | None]]] = {}
        self.log = AlertLog(data_dir / "calls.db")
        self._incoming: queue.SimpleQueue[BoxEvent] = queue.SimpleQueue()
        self._wake = threading.Event()

    def take(self, event: BoxEvent) -> None:
        """From the daemon's loop: never waits."""
        if self.alerts.wanted("voicemail" if event.kind == "transcript" else event.kind):
            self._incoming.put(event)
            self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """Make and send alerts until `stop` is set (then wake() it); sleeps until the next row is due."""
        while not stop.is_set():
            try:
                self.pass_once()
                due = self.log.next_due()
            except sqlite3.Error as exc:
                log.exception("the alert log cannot be read or written; trying again in a minute")
                self._trouble(f"alerts cannot be logged: {exc}")
                due = self.clock() + 60
            self._wake.wait(None if due is None else max(0.0, due - self.clock()))
            self._wake.clear()

    def pass_once(self) -> None:
        while True:
            try:
                event = self._incoming.get_nowait()
            except queue.Empty:
                break
            self._make(event)
        now = self.clock()
        for row in self.log.due("awaiting", now):  # the transcript did not come in time: they go without it
            self._settle(row, None)
        self._release(now)
        for row in self.log.due("queued", now):
            self._send(row)

    # --- making ----------------------------------------------------------------------------

    def _make(self, event: BoxEvent) -> None:
        if event.kind == "transcript":
            self._transcribed(str(event.data["call_id"]), event.data.get("text"))
            return
        data = dict(event.data)
        # Whom the alert tells of, by pseudonym key: erasing that caller finds the alert's text (docs/privacy.md).
        caller_key = self.privacy.key(data.get("caller") or data.get("number"))
        for name in ("caller", "number"):
            if data.get(name):  # leaves the box: as a webhook may carry it in this privacy mode
                data["caller"] = appear(data[name], "webhook", policy=self.privacy)
        for index, rule in self.alerts.wanted(event.kind):
            if rule.event == "low_balance" and not (data.get("amount") is not None and rule.threshold is not None
                                                    and data["amount"] < rule.threshold):
                continue
            subject, body = texts.describe(event.kind, data, box=self.box, language=self.language)
            awaiting = event.kind == "voicemail" and self.transcript_due()
            if awaiting and self.privacy.mode != "full":  # what was said identifies the caller like their voice
                body += texts.transcript_kept(self.privacy.mode, language=self.language)
                awaiting = False
            attachment = None
            if event.kind == "voicemail" and rule.channel == "email" and rule.attach_audio and data.get("path"):
                if self.privacy.mode == "full":
                    attachment = data["path"]
                else:  # the caller's voice identifies them as surely as their number
                    body += texts.audio_kept(self.privacy.mode, language=self.language)
            for recipient in self._recipients(rule):
                if awaiting:
                    now = self.clock()
                    self._awaiting[self.log.add({
                        "rule": index, "event": event.kind, "channel": rule.channel, "recipient": recipient,
                        "subject": subject, "body": body, "attachment": attachment, "state": "awaiting",
                        "created_at": now, "due_at": now + TRANSCRIPT_WAIT, "caller_key": caller_key})] = \
                        str(data["call_id"])
                else:
                    self._log(index, rule, event.kind, recipient, subject, body, attachment, caller_key)

    def _recipients(self, rule: AlertRule) -> list[str]:
        found = list(rule.numbers if rule.channel == "sms" else rule.emails)
        for role in rule.roles:
            found += role_contacts(self.data_dir / "web.db", role, rule.channel)
        return list(dict.fromkeys(found))

    def _transcribed(self, call_id: str, text: str | None) -> None:
        """A voicemail's transcript (None: none could be made): its waiting alerts go with it; those that went
        without it are followed by one carrying it."""
        said = texts.said(text, language=self.language) if text and text.strip() else None
        for alert_id in [i for i, call in self._awaiting.items() if call == call_id]:
            del self._awaiting[alert_id]
            row = self.log.get(alert_id)
            if row is not None and row["state"] == "awaiting":
                self._settle(row, said)
        late = self._late.pop(call_id, [])
        if said is None or not self.log.voicemail_kept(call_id):  # erased (or expired) while it was transcribed
            return
        subject, body = texts.describe("transcript", {}, box=self.box, language=self.language)
        for index, recipient, caller_key in late:
            rule = self._rule(index)
            if rule is not None:
                followup = body + said
                self._log(index, rule, "transcript", recipient, subject,
                          texts.shortened(followup) if rule.channel == "sms" else followup, None, caller_key)

    def _settle(self, row: dict[str, Any], said: str | None) -> None:
        """A voicemail alert done waiting for its transcript: queued (or held by its rule) like any other. Gone
        without it (timed out), the transcript follows in an alert of its own when it comes."""
        index, recipient, now = row["rule"], row["recipient"], self.clock()
        call_id = self._awaiting.pop(row["id"], None)
        if said is None and call_id is not None:
            self._late.setdefault(call_id, []).append((index, recipient, row["caller_key"]))
            while len(self._late) > LATE_KEPT:
                del self._late[next(iter(self._late))]
        body = row["body"] + (said or "")
        rule = self._rule(index)
        release = None if rule is None else hold_until(rule, now, self.tz, self.log.held_for(index, recipient),
                                                       self.log.sent_since(index, recipient, now - 3600.0))
        self.log.update(row["id"], body=texts.shortened(body) if row["channel"] == "sms" else body,
                        state="queued" if release is None else "held", due_at=now if release is None else release)

    def _rule(self, index: int) -> AlertRule | None:
        """The rule an alert logged earlier was made by (None: a reload since removed it)."""
        return self.alerts.rules[index] if 0 <= index < len(self.alerts.rules) else None

    def _log(self, index: int, rule: AlertRule, kind: str, recipient: str, subject: str, body: str,
             attachment: str | None, caller_key: str | None) -> None:
        now = self.clock()
        release = hold_until(rule, now, self.tz, self.log.held_for(index, recipient),
                             self.log.sent_since(index, recipient, now - 3600.0))
        self.log.add({"rule": index, "event": kind, "channel": rule.channel, "recipient": recipient,
                      "subject": subject, "body": body, "attachment": attachment,
                      "state": "queued" if release is None else "held", "created_at": now,
                      "due_at": now if release is None else release, "caller_key": caller_key})

    def _release(self, now: float) -> None:
        """Held alerts whose time came: one goes as it is; several to one recipient go as one digest."""
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
        for row in self.log.due("held", now):
            groups[(row["rule"], row["channel"], row["recipient"])].append(row)
        for (rule, channel, recipient), rows in groups.items():
            if len(rows) == 1:
                self.log.update(rows[0]["id"], state="queued", due_at=now)
                continue
            subject, body = texts.digest([r["body"] for r in rows], box=self.box, language=self.language)
            digest = self.log.add({"rule": rule, "event": "digest", "channel": channel, "recipient": recipient,
                                   "subject": subject, "body": body, "state": "queued", "created_at": now,
                                   "due_at": now})
            self.log.merge([r["id"] for r in rows], digest)

    # --- sending ---------------------------------------------------------------------------

    def _send(self, row: dict[str, Any]) -> None:
        attempts = row["attempts"] + 1
        try:
            if row["channel"] == "sms":
                error = self.send_sms(row["recipient"], row["body"])
            else:
                error = self._email(row)
        except Exception as exc:  # a refused connection, a bad certificate, a login refused: tried again later
            error = f"{type(exc).__name__}: {exc}"
        now = self.clock()
        if error is None:
            self.log.update(row["id"], state="sent", sent_at=now, attempts=attempts, last_error=None)
            self._trouble(None)
        elif attempts >= self.max_attempts:
            log.error("alert %s to %s failed for good after %d attempts: %s", row["id"], row["channel"], attempts,
                      error)
            self.log.update(row["id"], state="failed", attempts=attempts, last_error=error)
            self._trouble(f"an alert could not be sent by {row['channel']} after {attempts} attempts: {error}")
        else:
            pause = min(self.base_delay * 2 ** (attempts - 1), self.max_delay)
            log.warning("alert %s by %s failed (%s); retry %d in %.0f s", row["id"], row["channel"], error,
                        attempts, pause)
            self.log.update(row["id"], attempts=attempts, due_at=now + pause, last_error=error)
            self._trouble(f"alerts by {row['channel']} cannot be sent now ({error}); they are tried again")

    def _email(self, row: dict[str, Any]) -> str | None:
        smtp = self.alerts.smtp
        if smtp is None:
            return "no [smtp] relay is configured"
        path = self.data_dir / PASSWORD_FILE
        password = path.read_text(encoding="utf-8").strip() if path.exists() else None
        attachment = self.data_dir / row["attachment"] if row["attachment"] else None
        if attachment is not None and not attachment.exists():
            attachment = None  # erased since (retention, the caller's own request): the e-mail goes without it
        self.mail(smtp, password, row["recipient"], row["subject"] or "", row["body"], attachment)
        return None

    def _trouble(self, text: str | None) -> None:
        if self.on_trouble is not None:
            self.on_trouble(text)

    def close(self) -> None:
        self.log.close()
