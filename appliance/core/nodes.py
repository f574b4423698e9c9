"""The IVR's node kinds: what each kind of flow node does when entered, when its prompt ends, on a key, on silence.

One small handler per kind, looked up in `KINDS` by the node's type: the IVR (ivr.py) runs whichever handler
a node names and never branches on the kind itself. A new kind is one handler class here and one entry in
`KINDS`, plus its fields in `flow.NODE_TYPES` (tests/unit/test_flows.py checks that both tables name the same kinds).
A handler keeps no state of its own: everything it changes is on the call, and what it needs of the IVR is `Steps`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol

from . import events as ev
from .call import Call
from .callbacks import Callbacks
from .clock import Clock
from .flow import Node
from .plan import CallPlan
from .queue import Queue, wait_prompt

BEEP = "tone:beep"


class Steps(Protocol):
    """What a node kind may ask of the IVR that runs it."""

    plan: CallPlan
    clock: Clock
    queue: Queue
    callbacks: Callbacks

    def enter(self, call: Call, node_id: str | None) -> list[object]:
        """Move the call to a node (None: the admin left the path open, so the call ends)."""
        ...

    def say(self, call: Call, name: str | None, loop: bool = False) -> ev.Play: ...

    def variant(self, call: Call, name: str | None) -> str | None: ...

    def await_input(self, call: Call, node: Node) -> None: ...

    def stop_waiting(self, call: Call) -> None: ...

    def is_open(self) -> bool: ...

    def hang_up(self, call: Call) -> list[object]: ...

    def take_voicemail(self, call: Call, start: ev.StartRecording) -> ev.StartRecording: ...

    def take_speech(self, call: Call, start: ev.StartRecording) -> ev.StartRecording: ...


def named(value: str | None) -> str:
    """A node field the flow's parser requires for this node type (prompt, next...)."""
    if value is None:
        raise ValueError("a flow node lacks a field its type requires")
    return value


def _listen(ivr: Steps, call: Call, node: Node) -> list[object]:
    """The node's prompt ended: the caller hears silence while the node waits for a key."""
    call.playing = None  # the status says silence now, not the prompt that ended
    ivr.await_input(call, node)
    return []


class NodeKind(ABC):
    """The defaults: a prompt ending, a key or the input timer mean nothing to a kind that does not override them.
    Entering is what makes a kind, so every kind says what it does then."""

    @abstractmethod
    def enter(self, ivr: Steps, call: Call, node: Node) -> list[object]: ...

    def prompt_done(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        return []

    def key(self, ivr: Steps, call: Call, node: Node, digit: str) -> list[object]:
        return []

    def timeout(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        """Only the kinds that call `await_input` start the input timer, so only they override this."""
        return []


class Play(NodeKind):
    def enter(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        return [ivr.say(call, node.prompt)]

    def prompt_done(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        announcement = ivr.plan.announcement
        if node.id == ivr.plan.flow.start and announcement and not call.announced:
            # The emergency announcement comes right after the greeting, to every caller.
            call.announced = True
            call.playing = announcement
            return [ev.Play(call.line, announcement)]
        return ivr.enter(call, node.next)

    def key(self, ivr: Steps, call: Call, node: Node, digit: str) -> list[object]:
        # Barge-in over an announcement: the key is kept for the menu that follows.
        call.typeahead.append(digit)
        return [ev.StopAudio(call.line), *ivr.enter(call, node.next)]


class Menu(NodeKind):
    def enter(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        if call.typeahead:
            return self._choose(ivr, call, node, call.typeahead.pop(0))
        return [ivr.say(call, node.prompt)]

    def prompt_done(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        if call.playing != ivr.variant(call, node.prompt):
            return [ivr.say(call, node.prompt)]  # the invalid/timeout prompt ended: the menu again
        return _listen(ivr, call, node)

    def key(self, ivr: Steps, call: Call, node: Node, digit: str) -> list[object]:
        return [ev.StopAudio(call.line), *self._choose(ivr, call, node, digit)]

    def timeout(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        call.retries += 1
        if call.retries > node.retries:
            return ivr.enter(call, node.on_timeout)
        return [ivr.say(call, node.timeout_prompt or node.prompt)]

    def _choose(self, ivr: Steps, call: Call, node: Node, digit: str) -> list[object]:
        ivr.stop_waiting(call)
        target = node.keys.get(digit)
        if target is not None:
            call.path.append(digit)
            call.log(ivr.clock.wall(), "KEY", detail=digit)
            return ivr.enter(call, target)
        call.retries += 1
        if call.retries > node.retries:
            return ivr.enter(call, node.on_invalid or node.on_timeout)
        return [ivr.say(call, node.invalid_prompt or node.prompt)]


class Language(NodeKind):
    def enter(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        if call.typeahead and call.typeahead[0] in node.keys:
            return self.key(ivr, call, node, call.typeahead.pop(0))[1:]  # nothing is playing yet to stop
        return [ivr.say(call, node.prompt)]

    def prompt_done(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        return _listen(ivr, call, node)

    def key(self, ivr: Steps, call: Call, node: Node, digit: str) -> list[object]:
        if digit not in node.keys:
            return []
        call.language = node.keys[digit]
        call.log(ivr.clock.wall(), "KEY", detail=digit)
        return [ev.StopAudio(call.line), *ivr.enter(call, node.next)]

    def timeout(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        return ivr.enter(call, node.next)


class Collect(NodeKind):
    def enter(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        call.digits = ""
        return [ivr.say(call, node.prompt)]

    def prompt_done(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        return _listen(ivr, call, node)

    def key(self, ivr: Steps, call: Call, node: Node, digit: str) -> list[object]:
        actions: list[object] = [ev.StopAudio(call.line)] if not call.digits else []
        if digit == node.terminator and not node.length:
            return actions + self._collected(ivr, call, node)
        call.digits += digit
        if node.length and len(call.digits) >= node.length:
            return actions + self._collected(ivr, call, node)
        ivr.await_input(call, node)
        return actions

    def timeout(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        if call.digits:
            return self._collected(ivr, call, node)
        return ivr.enter(call, node.on_timeout or node.next)

    def _collected(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        call.collected[node.var] = call.digits
        call.log(ivr.clock.wall(), "COLLECT", detail=f"{node.var}={call.digits}")
        return ivr.enter(call, node.next)


class Schedule(NodeKind):
    def enter(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        is_open = ivr.is_open()
        call.after_hours = not is_open
        return ivr.enter(call, node.open if is_open else node.closed)


class Branch(NodeKind):
    def enter(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        clock = ivr.clock
        now = clock.wall() if clock.synced() else None  # None: the date is not known yet
        if node.on == "holiday":
            matched = ivr.plan.schedule.is_holiday(now)
            call.after_hours = call.after_hours or matched
        elif node.on == "open":
            matched = ivr.is_open()
        elif node.on == "caller_list":
            matched = ivr.plan.callers.in_list(named(node.list), call.caller)
        else:  # collected digits, e.g. a case number keyed in
            matched = call.collected.get(node.var) == node.value
        return ivr.enter(call, node.match if matched else node.otherwise)


class Route(NodeKind):
    """The queue: the caller waits for an operator with the node's skill, hearing music and their place."""

    def enter(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        return ivr.queue.enqueue(call, node.skill, node.max_wait)

    def prompt_done(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        if not call.queued:
            return []
        if (call.playing or "").startswith("queue.position."):
            wait = wait_prompt(ivr.queue.estimated_minutes(call))
            if wait in ivr.plan.prompts:
                return [ivr.say(call, wait)]  # then the estimated wait, then the music again
        return [ivr.say(call, ivr.queue.settings.hold_prompt, loop=True)]

    def key(self, ivr: Steps, call: Call, node: Node, digit: str) -> list[object]:
        if not call.queued or digit not in node.keys:
            return []
        call.path.append(digit)
        return [*ivr.queue.leave(call, "EXITWITHKEY", digit), ev.StopAudio(call.line),
                *ivr.enter(call, node.keys[digit])]


class Voicemail(NodeKind):
    def enter(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        return [ivr.say(call, node.prompt or BEEP)]

    def prompt_done(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        if call.playing != BEEP:
            return [ivr.say(call, BEEP)]
        call.playing = None
        return [ivr.take_voicemail(call, ev.StartRecording(
            call.line, f"voicemail/{call.id}.flac", node.max_seconds, node.silence_seconds, node.min_seconds))]


class Callback(NodeKind):
    def enter(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        number = call.collected.get(node.var) or call.caller
        actions = ivr.callbacks.request(call, number)
        if node.prompt and number:
            return [*actions, ivr.say(call, node.prompt)]
        return actions + ivr.enter(call, node.next)

    def prompt_done(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        return ivr.enter(call, node.next)


class Survey(NodeKind):
    def enter(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        return [ivr.say(call, node.prompt)]

    def prompt_done(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        if call.survey_score is not None:
            return ivr.enter(call, node.next)  # the thank-you ended
        return _listen(ivr, call, node)

    def key(self, ivr: Steps, call: Call, node: Node, digit: str) -> list[object]:
        if digit not in "12345" or call.survey_score is not None:
            return []
        call.survey_score = int(digit)
        call.log(ivr.clock.wall(), "SURVEY", detail=digit)
        ivr.stop_waiting(call)
        if node.thanks_prompt:
            return [ev.StopAudio(call.line), ivr.say(call, node.thanks_prompt)]
        return [ev.StopAudio(call.line), *ivr.enter(call, node.next)]

    def timeout(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        return ivr.enter(call, node.next)


class Sms(NodeKind):
    def enter(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        actions: list[object] = []
        if call.caller:
            call.log(ivr.clock.wall(), "SMS", detail=node.text)
            actions.append(ev.SendSms(call.line, call.caller, named(node.text)))
        return actions + ivr.enter(call, node.next)


class Transfer(NodeKind):
    def enter(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        if node.prompt:
            return [ivr.say(call, node.prompt)]
        return self._hand_over(ivr, call, node)

    def prompt_done(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        return self._hand_over(ivr, call, node)

    def _hand_over(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        call.log(ivr.clock.wall(), "TRANSFER", detail=node.number)
        call.playing = None
        return [ev.StopAudio(call.line), ev.Transfer(call.line, named(node.number))]


class Hangup(NodeKind):
    def enter(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        if node.prompt:
            return [ivr.say(call, node.prompt)]
        return ivr.hang_up(call)

    def prompt_done(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        return ivr.hang_up(call)


# The answer ends after this much quiet; a caller who says nothing for as long is taken as silent.
PAUSE_SECONDS = 2.0
MIN_SPEECH_SECONDS = 0.3  # shorter than a syllable: a click or a breath, not an answer


class Speak(Menu):
    """The caller says what they need and is routed by the intent heard (docs/speech.md); unsure, a key menu.

    `call.speech` is the phase: "asking" while the question plays, "listening" while the answer is recorded,
    "recognising" while the recogniser (a process of the service's) hears it, "keys" once the node fell back
    to its key menu. A key works in every phase (barge-in) and is the menu's. Unsure, silent, too slow or
    switched off, the recogniser never leaves a caller stuck: the node is then the menu of its `keys`.
    """

    def enter(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        call.speech = "asking"
        if call.typeahead:  # a key pressed over the greeting answers the question
            call.speech = "keys"
        return super().enter(ivr, call, node)

    def prompt_done(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        if call.speech == "asking" and ivr.plan.speech and self.intents(ivr, call, node):
            call.speech, call.playing = "listening", None
            return [ivr.take_speech(call, ev.StartRecording(call.line, f"speech/{call.id}.flac", node.listen_seconds,
                                                            PAUSE_SECONDS, MIN_SPEECH_SECONDS, stop_on_key=False))]
        if call.speech == "asking":
            return self._fall_back(ivr, call, node)
        return _listen(ivr, call, node)  # the fallback (or invalid, timeout) prompt ended: a key is awaited

    def key(self, ivr: Steps, call: Call, node: Node, digit: str) -> list[object]:
        stop: list[object] = [ev.StopRecording(call.line)] if call.speech == "listening" else []
        call.speech = "keys"
        silence, *then = super().key(ivr, call, node, digit)
        return [silence, *stop, *then]

    def timeout(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        if call.speech == "recognising":  # the engine is slow or gone: the caller is not kept waiting
            call.log(ivr.clock.wall(), "SPEECH", detail="not understood: no answer from the recogniser")
            return self._fall_back(ivr, call, node)
        call.retries += 1
        if call.retries > node.retries:
            return ivr.enter(call, node.on_timeout)
        return [ivr.say(call, node.timeout_prompt or node.fallback_prompt or node.prompt)]

    def recorded(self, ivr: Steps, call: Call, node: Node, path: str | None) -> list[object]:
        """The answer's recording ended on a pause or its length (a key or a hang-up stop it otherwise)."""
        if path is None:
            call.log(ivr.clock.wall(), "SPEECH", detail="nothing heard")
            return self._fall_back(ivr, call, node)
        call.speech = "recognising"
        ivr.await_input(call, node)  # the engine's answer is awaited no longer than the node's timeout
        return [ev.Recognise(call.line, call.id, path, call.language or ivr.plan.language,
                             self.intents(ivr, call, node))]

    def heard(self, ivr: Steps, call: Call, node: Node, event: ev.SpeechHeard) -> list[object]:
        if call.speech != "recognising" or event.call_id != call.id:
            return []  # a key was quicker
        ivr.stop_waiting(call)
        if event.intent in node.intents and event.confidence >= node.threshold:
            call.log(ivr.clock.wall(), "SPEECH", detail=f"{event.intent} ({event.confidence:.2f})")
            call.speech = None
            return ivr.enter(call, event.intent)
        why = event.reason or f"unsure ({event.confidence:.2f})"
        call.log(ivr.clock.wall(), "SPEECH", detail=f"not understood: {why}")
        return self._fall_back(ivr, call, node)

    def intents(self, ivr: Steps, call: Call, node: Node) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(intent, its phrases) in the caller's language."""
        language = call.language or ivr.plan.language
        return tuple((intent, phrases[language]) for intent, phrases in node.intents.items() if language in phrases)

    def _fall_back(self, ivr: Steps, call: Call, node: Node) -> list[object]:
        call.speech = "keys"
        if node.fallback_prompt:
            return [ivr.say(call, node.fallback_prompt)]
        return _listen(ivr, call, node)  # the question itself named the keys


SPEAK = Speak()

# Every node type the flow's parser accepts (flow.NODE_TYPES), and its handler.
KINDS: dict[str, NodeKind] = {
    "play": Play(), "menu": Menu(), "collect": Collect(), "language": Language(), "schedule": Schedule(),
    "branch": Branch(), "route": Route(), "voicemail": Voicemail(), "callback": Callback(), "survey": Survey(),
    "sms": Sms(), "transfer": Transfer(), "hangup": Hangup(), "speak": SPEAK,
}
