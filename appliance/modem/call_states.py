"""The line's call as one table: every state, every event, and where each event takes each state.

calls.py carries out the effects (posting core events, sending ATA/ATH); this module only says which.
A (state, event) pair missing from TABLE leaves the state as it is and does nothing: a stray report
(a DTMF while idle, a RING while a callback is dialled out) is news about no call of ours.
"""

from __future__ import annotations

from appliance.core.lean import lean

# --- states -----------------------------------------------------------------------------------

DOWN = "down"  # the line is out of service (starting, failed, recovering): RINGs start nothing
IDLE = "idle"  # no call on the line
RINGING = "ringing"  # a caller rings; the line waits for the ring to answer on (or to retry a refused ATA)
ANSWERING = "answering"  # ATA is in flight
# The caller left as their ATA went out. What the ATA did is unsure: their NO CARRIER may have been read as its
# reply while its own reply (OK: it answered the next caller, who rang meanwhile) is still owed. The modem's
# activity (AT+CPAS, which swallows a final owed to an earlier command) and call list (AT+CLCC) settle it.
CHECKING = "checking"
REFUSED = "refused"  # the modem refused ATA too often: the call was rejected; its last RINGs are ignored
ACTIVE = "active"  # a call is up (answered, or a dialled call the far end picked up)
DIALING = "dialing"  # ATD went out; the far end has not answered yet
TRANSFERRING = "transferring"  # the caller is held while a second leg rings

STATES = (DOWN, IDLE, RINGING, ANSWERING, CHECKING, REFUSED, ACTIVE, DIALING, TRANSFERRING)

# --- events -----------------------------------------------------------------------------------

RING = "ring"  # a counted RING / +CRING (RINGs closer than RING_MIN_GAP are one ring)
RING_DUE = "ring due"  # a counted RING on which the line answers (answer_after_rings reached, or a retry)
CALLER = "caller"  # +CLIP / +CLCC / NMBR: the caller's number
DTMF = "dtmf"
CONNECTED = "connected"  # the modem reports the call up (+CLCC stat 0, VOICE CALL: BEGIN, +COLP)
ENDED = "ended"  # NO CARRIER, BUSY, VOICE CALL: END, ^CEND, +CLCC stat 6, a V.253 busy tone
ATA_OK = "ata ok"
ATA_REFUSED = "ata refused"  # ERROR / +CME ERROR / a vendor's refusal, fewer than ANSWER_ATTEMPTS times
ATA_GAVE_UP = "ata gave up"  # refused for the ANSWER_ATTEMPTS-th time
ATA_NO_CARRIER = "ata no carrier"  # the caller left while ATA ran
ATA_TIMEOUT = "ata timeout"  # the modem did not answer ATA at all: the line itself fails next
CHECK_UP = "check up"  # the check found an incoming call up: the late ATA answered the next caller
CHECK_RINGING = "check ringing"  # the check found the next caller ringing: answered at once
CHECK_IDLE = "check idle"  # the check found no call
CHECK_GONE = "check gone"  # no call now, but the late ATA's owed OK says it answered someone, who left already
CHECK_STRAY = "check stray"  # the check found a call nobody follows (or an analogue line left off-hook)
RING_GONE = "ring gone"  # no RING for RING_GONE_S: the caller gave up
POLL_EMPTY = "poll empty"  # AT+CLCC lists no call while we think one is up
PORT_LOST = "port lost"  # the line failed (port gone, modem silent, power down)
BACK = "back"  # the line is in service (again), calls left up in the modem hung up
OUR_HANGUP = "our hangup"  # the core hung up (or a deflection handed the call on)
DIAL = "dial"
DIAL_TIMEOUT = "dial timeout"
TRANSFER = "transfer"
TRANSFER_DONE = "transfer done"  # the second leg took the caller (explicit transfer)
TRANSFER_BACK = "transfer back"  # the caller is ours again (refused, failed, or a conference)

EVENTS = (RING, RING_DUE, CALLER, DTMF, CONNECTED, ENDED, ATA_OK, ATA_REFUSED, ATA_GAVE_UP, ATA_NO_CARRIER,
          ATA_TIMEOUT, CHECK_UP, CHECK_RINGING, CHECK_IDLE, CHECK_GONE, CHECK_STRAY, RING_GONE, POLL_EMPTY,
          PORT_LOST, BACK, OUR_HANGUP, DIAL, DIAL_TIMEOUT, TRANSFER, TRANSFER_DONE, TRANSFER_BACK)

# --- effects (calls.py carries them out, in this order) -----------------------------------------

NEW_CALL = "new call"  # post IncomingCall with a fresh call id
SEND_ATA = "send ata"  # queue ATA at the head of the worker's jobs
TELL_CALLER = "tell caller"  # post CallerId (once per call)
TELL_DTMF = "tell dtmf"
ANSWERED = "answered"  # post CallAnswered, then the dialect's after-answer commands
RETRY = "retry"  # post AnswerRetry: the refusal goes into the call's timeline
FAILED = "failed"  # post AnswerFailed
GONE = "gone"  # post RemoteHangup: the caller (or the far end) ended the call
HANG_UP = "hang up"  # send the dialect's hang-up command: nothing may stay up in the modem
HANG_UP_ANALOGUE = "hang up analogue"  # an analogue line stays off-hook hearing busy tone until we hang up
DIAL_ANSWERED = "dial answered"  # post DialAnswered, then the after-answer commands
DIAL_FAILED = "dial failed"  # post DialFailed


@lean(frozen=True)
class Step:
    to: str
    effects: tuple[str, ...] = ()


_LIVE = (RINGING, ANSWERING, ACTIVE)  # a call the core knows about, begun by a caller

TABLE: dict[tuple[str, str], Step] = {
    # a caller arrives
    (IDLE, RING): Step(RINGING, (NEW_CALL,)),  # answer_after_rings > 1 (V.253): caller ID comes between rings
    (IDLE, RING_DUE): Step(ANSWERING, (SEND_ATA, NEW_CALL)),  # ATA first: the record is the loop's job
    (RINGING, RING_DUE): Step(ANSWERING, (SEND_ATA,)),
    (RINGING, RING): Step(RINGING),  # counted towards answer_after_rings
    (RINGING, CALLER): Step(RINGING, (TELL_CALLER,)),
    (ANSWERING, CALLER): Step(ANSWERING, (TELL_CALLER,)),
    (ACTIVE, CALLER): Step(ACTIVE, (TELL_CALLER,)),
    (RINGING, RING_GONE): Step(IDLE, (GONE,)),
    (RINGING, ENDED): Step(IDLE, (GONE,)),
    # the answer
    (ANSWERING, ATA_OK): Step(ACTIVE, (ANSWERED,)),
    (ANSWERING, CONNECTED): Step(ANSWERING),  # the report of our own answer: ATA's OK says the rest
    (ANSWERING, ATA_REFUSED): Step(RINGING, (RETRY,)),  # tried again on the next RING
    (ANSWERING, ATA_GAVE_UP): Step(REFUSED, (FAILED, HANG_UP)),  # rejected: the caller hears busy, not silence
    # The caller left: their record ends now; the line takes no call until the check says what the ATA did.
    (ANSWERING, ATA_NO_CARRIER): Step(CHECKING, (GONE,)),
    (ANSWERING, ENDED): Step(CHECKING, (GONE,)),  # an end report while ATA runs: its reply is still to come
    (ANSWERING, ATA_TIMEOUT): Step(IDLE, (FAILED,)),  # the line fails next and recovery hangs up what is left
    (REFUSED, RING_GONE): Step(IDLE),
    (REFUSED, ENDED): Step(IDLE),
    # the check (RINGs, numbers and call reports meanwhile change nothing: what the modem lists decides)
    (CHECKING, CHECK_UP): Step(ACTIVE, (NEW_CALL, ANSWERED)),  # answered, so they are our call and get a record
    (CHECKING, CHECK_RINGING): Step(ANSWERING, (SEND_ATA, NEW_CALL)),
    (CHECKING, CHECK_IDLE): Step(IDLE),
    (CHECKING, CHECK_GONE): Step(IDLE, (NEW_CALL, ANSWERED, GONE)),  # answered and gone: still one record
    (CHECKING, CHECK_STRAY): Step(IDLE, (HANG_UP,)),
    # an ATA result after the core hung up meanwhile: the modem may have picked up a call nobody follows
    (IDLE, ATA_OK): Step(IDLE, (HANG_UP,)),
    # the call
    (ACTIVE, DTMF): Step(ACTIVE, (TELL_DTMF,)),
    (ACTIVE, ENDED): Step(IDLE, (GONE, HANG_UP_ANALOGUE)),
    (ACTIVE, POLL_EMPTY): Step(IDLE, (GONE,)),
    # calling out
    (IDLE, DIAL): Step(DIALING),
    (DIALING, CONNECTED): Step(ACTIVE, (DIAL_ANSWERED,)),
    (DIALING, ENDED): Step(IDLE, (DIAL_FAILED, HANG_UP_ANALOGUE)),
    (DIALING, POLL_EMPTY): Step(IDLE, (DIAL_FAILED,)),
    (DIALING, DIAL_TIMEOUT): Step(IDLE, (DIAL_FAILED, HANG_UP)),
    (DIALING, DTMF): Step(DIALING, (TELL_DTMF,)),
    # transfers
    (ACTIVE, TRANSFER): Step(TRANSFERRING),
    (TRANSFERRING, TRANSFER_DONE): Step(IDLE),
    (TRANSFERRING, TRANSFER_BACK): Step(ACTIVE),
    (TRANSFERRING, ENDED): Step(IDLE, (GONE,)),
    (TRANSFERRING, DTMF): Step(TRANSFERRING, (TELL_DTMF,)),
}
# The line failing ends whatever there was. A caller's call is ended by the LineDown the line posts next
# (recorded as ended by the line, with the reason); a dialled call fails. Recovery's AT+CLCC hangs up
# what is still up in the modem before BACK.
for _state in (IDLE, RINGING, ANSWERING, CHECKING, REFUSED, ACTIVE, TRANSFERRING):
    TABLE[(_state, PORT_LOST)] = Step(DOWN)
TABLE[(DIALING, PORT_LOST)] = Step(DOWN, (DIAL_FAILED,))
TABLE[(DOWN, BACK)] = Step(IDLE)
# Our own hang-up ends whatever there was.
for _state in (RINGING, ANSWERING, REFUSED, ACTIVE, DIALING, TRANSFERRING):
    TABLE[(_state, OUR_HANGUP)] = Step(IDLE)


def step(state: str, event: str) -> Step:
    """Where `event` takes `state`; unknown pairs stay put with no effect."""
    return TABLE.get((state, event), Step(state))
