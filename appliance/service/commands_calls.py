"""Control commands for people at work: operators logging in and pausing, notes, tickets, callbacks,
the emergency announcement, and a caller's right to see or erase their data.

The web app asks; the daemon, the only writer of call data, does. Each runs on the event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..audio.player import AlsaPlayer
from ..core import events as ev
from ..core.call import Call
from ..records.store.access import AccessStore
from ..records.store.retention import erase_caller, export_caller
from .commands_host import CommandHost, running

if TYPE_CHECKING:
    from ..core.switchboard import Switchboard
    from ..records.privacy import Privacy

MIXED_AUDIO = ("serial", "uac")  # a line's voice through the box both ways: a browser listener hears both sides

SMS_GAP = 6.0  # seconds between broadcast SMS: operators' networks throttle bursts from one SIM


def register(daemon: CommandHost) -> None:
    daemon.commands.update({
        "operator.login": lambda a: _operator(daemon, "login", a),
        "operator.logout": lambda a: _operator(daemon, "logout", a),
        "operator.pause": lambda a: _operator(daemon, "pause", a),
        "operator.unpause": lambda a: _operator(daemon, "unpause", a),
        "call.note": lambda a: {"note": running(daemon)[1].add_note(_text(a, "call"), _text(a, "author"),
                                                                    _text(a, "text"), now=daemon.clock.wall())},
        "call.type": lambda a: _call_type(daemon, a),
        "ticket.open": lambda a: {"ticket": running(daemon)[1].open_ticket(
            a.get("call"), _text(a, "title"), _text(a, "author"), now=daemon.clock.wall(), assignee=a.get("assignee"))},
        "ticket.update": lambda a: _ticket_update(daemon, a),
        "contact.save": lambda a: {"contact": running(daemon)[1].upsert_contact(
            _live_call(daemon, _text(a, "call")).caller or "", name=a.get("name"), note=a.get("note"),
            author=_text(a, "author"), now=daemon.clock.wall())},
        "callback.request": lambda a: _callback_request(daemon, a),
        "call.transfer": lambda a: _transfer(daemon, a),
        "call.handover": lambda a: _handover(daemon, a),
        "call.barge": lambda a: _barge(daemon, a),
        "call.listen": lambda a: _listen(daemon, a),
        "callback.done": lambda a: _callback_done(daemon, a),
        "voicemail.listened": lambda a: _voicemail_listened(daemon, a),
        "announcement.set": lambda a: _announcement(daemon, a),
        "caller.export": lambda a: _caller(daemon, "export", a),
        "caller.erase": lambda a: _caller(daemon, "erase", a),
    })


def _text(args: dict[str, Any], key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key} is needed")
    return value


def _live_call(daemon: CommandHost, call_id: str) -> Call:
    """A call in progress, by id: its number stays in the daemon (the web page only ever sees it as shown)."""
    core, _ = running(daemon)
    call = core.line_call_by_id(call_id)
    if call is None:
        raise LookupError(f"no call {call_id!r} in progress")
    return call


def _operator(daemon: CommandHost, verb: str, args: dict[str, Any]) -> dict[str, Any]:
    core, _ = running(daemon)
    operators, now = core.operators, daemon.clock.wall()
    name = _text(args, "operator")
    if verb == "login":
        if _text(args, "handset") not in core.handsets:
            raise LookupError(f"no handset {args['handset']!r}")
        change = operators.login(name, args["handset"], now)
    elif verb == "logout":
        change = operators.logout(name, now)
    elif verb == "pause":
        change = operators.pause(name, _text(args, "reason"))
    else:
        change = operators.unpause(name)
    daemon.run_actions(core.queue.dispatch())  # a login or an unpause may take a waiting caller
    return {"operator": change.operator, "state": change.state.value, "handset": change.handset}


def _call_type(daemon: CommandHost, args: dict[str, Any]) -> dict[str, Any]:
    running(daemon)[1].set_call_type(_text(args, "call"), _text(args, "type"), args.get("category"))
    return {"call": args["call"], "type": args["type"]}


def _ticket_update(daemon: CommandHost, args: dict[str, Any]) -> dict[str, Any]:
    running(daemon)[1].update_ticket(int(args["id"]), now=daemon.clock.wall(), status=args.get("status"),
                               assignee=args.get("assignee"), title=args.get("title"))
    return {"ticket": args["id"]}


def _withdraw(daemon: CommandHost, core: Switchboard, privacy: Privacy, key: str | None) -> None:
    """What the core holds of a caller about to be erased: a call in progress (theirs, or dialling them back)
    would write their record again when it ends, so erasure waits for it; a callback still waiting is dropped,
    or the box would ring a desk and dial them after they were forgotten."""
    if key is None:
        return
    for call in core.live_calls:
        if privacy.key(call.caller) == key:
            raise ValueError(f"the caller is on a call now (line {call.line}); erase them once it has ended")
    for request in [r for r in core.callbacks.requests.values() if privacy.key(r.number) == key]:
        daemon.run_actions(core.callbacks.withdraw(request))


def _callback_done(daemon: CommandHost, args: dict[str, Any]) -> dict[str, Any]:
    running(daemon)[1].callback_done(int(args["id"]), _text(args, "by"), now=daemon.clock.wall())
    return {"done": args["id"]}


def _voicemail_listened(daemon: CommandHost, args: dict[str, Any]) -> dict[str, Any]:
    running(daemon)[1].voicemail_listened(int(args["id"]), now=daemon.clock.wall())
    return {"listened": args["id"]}


def _callback_request(daemon: CommandHost, args: dict[str, Any]) -> dict[str, Any]:
    number = _text(args, "number")
    if not number.lstrip("+").isdigit() or not 3 <= len(number) <= 20:
        raise ValueError(f"{number!r} is not a phone number")
    operator = args.get("operator")
    core = running(daemon)[0]
    daemon.run_actions(core.request_callback(number, operator if isinstance(operator, str) else None))
    return {"queued": number, "operator": operator}


def _transfer(daemon: CommandHost, args: dict[str, Any]) -> dict[str, Any]:
    """An operator hands a connected caller on: only to an allowed number, and (when the web page names the
    operator's handset) only the call on that handset. docs/security.md has the rule."""
    number = _text(args, "number")
    if not number.lstrip("+").isdigit() or not 3 <= len(number) <= 20:
        raise ValueError(f"{number!r} is not a phone number")
    call = _live_call(daemon, _text(args, "call"))
    if call.connected_at is None or call.released_at is not None:
        raise ValueError("only a call connected to an operator can be transferred")
    if args.get("handset") is not None and call.handset != args["handset"]:
        raise ValueError(f"that call is not on your handset {args['handset']}")
    flow_targets = {node.number for node in daemon.config.flow.nodes.values() if node.type == "transfer"}
    if number not in flow_targets and not daemon.config.records.may_transfer_to(number):
        raise ValueError(f"{number} is not an allowed transfer target; an admin lists them in [transfer] allowed")
    daemon.run_actions(running(daemon)[0].transfer(call.line, number))
    return {"transferring": number}


def _handover(daemon: CommandHost, args: dict[str, Any]) -> dict[str, Any]:
    """Warm transfer to another desk (a handset, or someone with a skill); an operator only their own call."""
    core = running(daemon)[0]
    call = _live_call(daemon, _text(args, "call"))
    if args.get("handset") is not None and call.handset != args["handset"]:
        raise ValueError(f"that call is not on your handset {args['handset']}")
    to, skill = args.get("to"), args.get("skill")
    if not (isinstance(to, str) and to) and not (isinstance(skill, str) and skill):
        raise ValueError("name the desk (to) or the skill to hand the caller over to")
    daemon.run_actions(core.desks.hand_over(call, to_handset=to or None, skill=skill or None,
                                            stay=args.get("stay") is True))
    return {"handing_over": call.id, "to": to, "skill": skill}


def _barge(daemon: CommandHost, args: dict[str, Any]) -> dict[str, Any]:
    """A supervisor's lifted handset joins a connected call: heard (barge) or, wired for it, listening only."""
    core = running(daemon)[0]
    call, handset = _live_call(daemon, _text(args, "call")), _text(args, "handset")
    listen = args.get("listen") is True
    spec = next((h for h in daemon.config.handsets if h.id == handset), None)
    if spec is None:
        raise LookupError(f"no handset {handset!r}")
    if listen and spec.mute_pin is None:
        raise ValueError(f"handset {handset} has no mute_pin wired: it can barge in, not listen only "
                         "(docs/handsets.md, listen-only wiring)")
    daemon.run_actions(core.desks.barge(call, handset, listen_only=listen))
    return {"joined": call.id, "handset": handset, "listen": listen}


def _listen(daemon: CommandHost, args: dict[str, Any]) -> dict[str, Any]:
    """A supervisor listens to a live call in the browser: the socket the caller's audio comes out of."""
    call = _live_call(daemon, _text(args, "call"))
    if call.answered_at is None:
        raise ValueError("the call is not answered yet: nothing to listen to")
    recorder = daemon.recorders.get(call.line)
    if recorder is None:
        raise ValueError(f"line {call.line} captures no audio to listen to")
    line = next((spec for spec in daemon.config.lines if spec.id == call.line), None)
    player = daemon.players.get(call.line)
    both = player if isinstance(player, AlsaPlayer) and line is not None and line.audio in MIXED_AUDIO else None
    path = daemon.listening.start(call.id, recorder, both)
    return {"socket": str(path), "rate": getattr(recorder, "rate", 8000), "both_sides": both is not None}


def _announcement(daemon: CommandHost, args: dict[str, Any]) -> dict[str, Any]:
    """Switch the emergency announcement on (a configured prompt) or off; optionally text the opted-in list."""
    prompt = args.get("prompt")
    core, _ = running(daemon)
    # every prompt the flow may play, made or still being made after a start (callers hear it once it is)
    if prompt is not None and prompt not in core.plan.prompts:
        raise LookupError(f"no prompt {prompt!r}: upload or type it on the prompts page first")
    core.announcement = prompt
    if prompt is not None:
        daemon.hook.tell("emergency_on", prompt=prompt)
    sent = 0
    text = args.get("sms")
    if prompt is not None and isinstance(text, str) and text.strip():
        numbers = sorted(core.callers.lists.get("announcements", ()))
        lines = [line for line, state in core.line_state.items() if state == "up"]
        if not lines:
            raise ValueError("no line is up to send the SMS from; the announcement is on")
        for i, number in enumerate(numbers):
            daemon.post_later(i * SMS_GAP, ev.SendSms(lines[i % len(lines)], number, text.strip()))
        sent = len(numbers)
    return {"announcement": prompt, "sms_queued": sent}


def _caller(daemon: CommandHost, verb: str, args: dict[str, Any]) -> dict[str, Any]:
    caller, actor = _text(args, "caller"), _text(args, "actor")
    from ..records.store.queries import CallLog  # the reader, for this rare request only (retention.py)

    core, store = running(daemon)
    access = AccessStore(daemon.data_dir / "access.db")
    try:
        if verb == "erase":
            _withdraw(daemon, core, store.privacy, CallLog(store.path, privacy=store.privacy).caller_key(caller))
            return {"erased": erase_caller(store, caller, actor=actor, now=daemon.clock.wall(), audit=access)}
        log = CallLog(store.path, privacy=store.privacy)
        return {"export": export_caller(log, caller, actor=actor, now=daemon.clock.wall(), audit=access)}
    finally:
        access.close()
