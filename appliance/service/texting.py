"""The two-way SMS text line in the daemon (docs/texts.md): an incoming text joins its caller's open conversation
or opens one, owned by the operator the queue would ring for a call; operators answer from the web page through
the control socket (text.reply, text.take, text.close); the emergency announcement answers a new text once.

Runs on the loop: it hears `sms_received` through the event hook, after actions.py recorded the message.
"""

from __future__ import annotations

import logging
from typing import Any

from ..core import events as ev
from ..core.box_events import BoxEvent
from ..core.texts import text_operator
from ..modem.sms import check_text
from ..records.privacy import has_digits
from ..records.store.texts import TextStore

log = logging.getLogger(__name__)


class TextLine:
    def __init__(self, daemon: Any) -> None:
        self.daemon = daemon
        self.store = TextStore(daemon.store, daemon.store.privacy)
        daemon.hook.listen(self._heard)
        daemon.commands.update({
            "text.reply": lambda a: self.reply(_id(a), _words(a.get("text")), _words(a.get("author"))),
            "text.take": lambda a: self.take(_id(a), _words(a.get("operator"))),
            "text.close": lambda a: self.close(_id(a), _words(a.get("by"))),
            "text.canned": lambda _a: {"canned": list(self.daemon.config.texts.canned)},
        })

    def _heard(self, event: BoxEvent) -> None:
        if event.kind == "sms_received" and self.daemon.config.texts.enabled:
            self.incoming(event.data["line"], event.data["sender"], event.at)

    def incoming(self, line: str, sender: str | None, at: float) -> None:
        if not has_digits(sender):
            return  # an alphanumeric sender (a bank, the network's own messages) cannot be answered
        conversation = self.store.open_for(sender)
        if conversation is None:
            core = self.daemon.core
            operator = text_operator(core.queue, self.daemon.clock.monotonic(), self.store.open_counts(),
                                     self.daemon.config.texts.skill)
            conversation = self.store.get(self.store.start(sender, line, operator, at))
            log.info("text conversation %s opened on %s for %s", conversation["id"], line, operator or "anyone")
        self.store.link(conversation["id"], sender, "in", None, at)
        prompt = self.daemon.core.announcement
        spoken = self.daemon.config.prompts.get(prompt or "")
        if prompt and self.daemon.config.texts.announce and spoken is not None and spoken.text \
                and conversation["announced"] != prompt:
            self.store.update(conversation["id"], announced=prompt)
            self._send(conversation, spoken.text, "announcement")

    def reply(self, conversation_id: int, text: str, author: str) -> dict[str, Any]:
        conversation = self._open(conversation_id)
        check_text(text)
        self._send(conversation, text, author)
        return {"sent": conversation_id}

    def take(self, conversation_id: int, operator: str) -> dict[str, Any]:
        self._open(conversation_id)
        self.store.update(conversation_id, operator=operator)
        return {"taken": conversation_id, "operator": operator}

    def close(self, conversation_id: int, by: str) -> dict[str, Any]:
        self._open(conversation_id)
        self.store.update(conversation_id, state="closed", closed_at=self.daemon.clock.wall(), unread=0)
        log.info("text conversation %s closed by %s", conversation_id, by)
        return {"closed": conversation_id}

    def _open(self, conversation_id: int) -> dict[str, Any]:
        conversation = self.store.get(conversation_id)
        if conversation is None or conversation["state"] != "open":
            raise LookupError(f"no open conversation {conversation_id}")
        return conversation

    def _send(self, conversation: dict[str, Any], text: str, author: str) -> None:
        """Through the conversation's own line when it is up (the caller sees the same number), else another."""
        states = self.daemon.core.line_state
        up = [line for line, state in states.items() if state == "up"]
        if not up:
            raise ValueError("no line is up to send the text from")
        line = conversation["line"] if conversation["line"] in up else up[0]
        number = self.store.number(conversation)
        self.daemon.run_actions([ev.SendSms(line, number, text)])  # recorded by actions.py like every SMS
        self.store.link(conversation["id"], number, "out", author, self.daemon.clock.wall())


def _id(args: dict[str, Any]) -> int:
    value = args.get("id")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise ValueError("id must be a conversation's number")
    return int(value)


def _words(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("text, author, operator and by must not be empty")
    return value
