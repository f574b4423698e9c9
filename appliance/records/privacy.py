"""How caller numbers are kept and shown: in full, masked, or only as a keyed pseudonym.

Every stored call carries `caller_key`, an HMAC of the number under a per-box
secret, whatever the mode: that is what links a caller's calls together (the
operator's caller history) without the number itself having to be kept.

`appear` is the one rule for how a caller's number may appear in each place the
box puts it (docs/security.md has the table); every writer and every reader goes
through it, and tests/system/test_privacy_search.py searches the whole box for a number
to prove it.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from appliance.core.lean import lean

from ..digest import hmac_sha256, token_hex
from ..files import atomic_write

MODES = ("full", "masked", "pseudonym")
RETENTION_KINDS = ("calls", "recordings", "voicemail", "sms", "alerts")  # what a box may keep for a limited time
log = logging.getLogger(__name__)

SECRET_FILE = "privacy.key"
PSEUDONYM_PREFIX = "~"
# Roles that may see a number as stored; everyone else sees it masked.
FULL_NUMBER_ROLES = frozenset({"admin", "supervisor"})
# Where a number is written by the daemon (as the mode allows it to be kept), and where it is read back.
WRITTEN = frozenset({"record", "timeline", "webhook", "live", "backup"})
PLACES = WRITTEN | {"log", "view"}
# Timeline events whose detail is a phone number (the caller's, or one to call back); COLLECT holds "var=digits".
NUMBER_EVENTS = ("ANSWERED", "CALLBACK_REQUEST", "DIAL")
PHONE_DIGITS = 7  # collected digits this long may be a phone number (a callback number typed in)
WITHHELD = "withheld"  # what the private modes keep of a caller ID without digits ("Anonymous", "Unknown")

# ITU-T E.164 country codes of one and two digits; every other code has three.
_CC1 = {"1", "7"}
_CC2 = {
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48", "49",
    "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81", "82", "84",
    "86", "90", "91", "92", "93", "94", "95", "98",
}
_NUMBER = re.compile(r"^\+?[0-9][0-9 ()\-.]*$")


def normalise(number: str) -> str:
    """The number as dialled digits (and a leading +), so '+7 (916) 123-45-67' and '+79161234567' are one caller."""
    number = number.strip()
    digits = re.sub(r"\D", "", number)
    return ("+" + digits) if number.startswith("+") else digits


def mask(number: str) -> str:
    """'+79161234567' -> '+7 *** ***-45-67': the country and the last four digits, enough to recognise a caller."""
    plain = normalise(number) if _NUMBER.match(number.strip()) else number.strip()
    digits = plain.lstrip("+")
    if not digits.isdigit() or len(digits) < 6:
        return "***" + digits[-2:] if digits.isdigit() else "***"
    tail = f"***-{digits[-4:-2]}-{digits[-2:]}"
    if not plain.startswith("+"):
        return f"*** {tail}"
    code = digits[:1] if digits[:1] in _CC1 else digits[:2] if digits[:2] in _CC2 else digits[:3]
    return f"+{code} *** {tail}"


def has_digits(number: str | None) -> bool:
    """A caller ID that can identify someone: "Anonymous", "Unknown" or "" name nobody (and key no history)."""
    return bool(number) and any(c.isdigit() for c in number)


def is_protected(stored: str) -> bool:
    """True if a stored caller is already masked or a pseudonym (nothing more to hide)."""
    return stored.startswith(PSEUDONYM_PREFIX) or "*" in stored or not has_digits(stored)


def appear(number: str | None, place: str, *, role: str | None = None,
           policy: Privacy | None = None) -> str | None:
    """How a caller number may appear in `place`: the one rule, so no path can show more than it may.

    record, timeline, webhook, live (the status the web page polls) and backup: as the box's mode keeps
    numbers (`policy` is needed). log: masked at best, whatever the mode, because the journal is kept
    outside the box's retention. view: a value read back from a record, as a person with `role` may see it.
    """
    if place not in PLACES:
        raise ValueError(f"no place {place!r} for a number; one of {', '.join(sorted(PLACES))}")
    if not number:
        return None
    if place in WRITTEN or (place == "log" and policy is not None):
        if policy is None:
            raise ValueError(f"a number written to the {place} needs the box's privacy policy")
        number = policy.stored(number)
    if place == "log" or (place == "view" and role not in FULL_NUMBER_ROLES):
        return number if is_protected(number) else mask(number)
    return number


def appear_in_event(event: str, detail: str | None, place: str, *, role: str | None = None,
                    policy: Privacy | None = None) -> str | None:
    """A timeline event's detail as `place` may hold it: the numbers in it pass `appear` like the caller's."""
    if detail is None:
        return None
    if event in NUMBER_EVENTS:
        return appear(detail, place, role=role, policy=policy)
    name, equals, value = detail.partition("=")
    if event == "COLLECT" and equals and sum(c.isdigit() for c in value) >= PHONE_DIGITS:
        return f"{name}={appear(value, place, role=role, policy=policy)}"
    return detail


# A number a caller says in a voicemail, as the recogniser writes it: digits, or number words in a row.
_SPOKEN_NUMBER = re.compile(
    r"\b(?:(?:\d+|zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|double|triple|plus|"
    r"ноль|один|два|три|четыре|пять|шесть|семь|восемь|девять)[\s,.-]*){3,}", re.IGNORECASE)


def transcript_as_kept(text: str, policy: Privacy) -> str:
    """A voicemail's transcript as the mode keeps numbers: in full; else a number said in it is "[number]"."""
    if policy.mode == "full":
        return text
    return _SPOKEN_NUMBER.sub(lambda m: "[number]" + (" " if m.group(0)[-1:].isspace() else ""), text).strip()


def shown(stored: str | None, role: str | None) -> str | None:
    """What a person with this role sees of a stored caller; None for a withheld number."""
    return appear(stored, "view", role=role)


class KeyFileError(RuntimeError):
    """The secret file is there but unusable: the box must not start (its pseudonyms would all change)."""


def load_secret(data_dir: str | Path) -> bytes:
    """The box's pseudonym secret, created on first start (0600, owner only); the same secret forever after."""
    path = Path(data_dir) / SECRET_FILE
    # Written whole or not at all, and never over a key another process made a moment before.
    if not path.exists() and atomic_write(path, token_hex(32) + "\n", exclusive=True):
        log.info("made the privacy key %s", path)
    try:
        secret = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (ValueError, UnicodeDecodeError):
        raise KeyFileError(f"{path} is not a privacy key (64 hexadecimal digits); restore it from a backup, "
                           "or remove it to start with a new key (pseudonyms made with the old one then "
                           "no longer match)") from None
    except OSError as exc:
        raise KeyFileError(f"{path} cannot be read: {exc.strerror}") from None
    if len(secret) < 16:
        raise KeyFileError(f"{path} holds a secret shorter than 16 bytes; restore it from a backup")
    return secret


@lean(frozen=True)
class Privacy:
    """A box's number policy: the mode and the secret behind its pseudonyms."""

    mode: str
    secret: bytes

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"privacy mode {self.mode!r} is not one of {', '.join(MODES)}")

    @classmethod
    def for_data_dir(cls, data_dir: str | Path, mode: str = "full") -> Privacy:
        if mode not in MODES:  # before the secret file is created for nothing
            raise ValueError(f"privacy mode {mode!r} is not one of {', '.join(MODES)}")
        return cls(mode, load_secret(data_dir))

    def key(self, number: str | None) -> str | None:
        """The caller's stable pseudonym key (128 bits of HMAC-SHA256); None for a withheld number or one
        without digits: such callers are not one person, so each call stands alone (no shared history)."""
        if not has_digits(number):
            return None
        return hmac_sha256(self.secret, normalise(number).encode()).hex()[:32]

    def stored(self, number: str | None) -> str | None:
        """The caller as this mode allows it to be written down (a value already protected stays as it is)."""
        if not number:
            return None
        if self.mode == "full":
            return number
        if not has_digits(number):
            return WITHHELD
        if is_protected(number):
            return number
        if self.mode == "masked":
            return mask(number)
        return PSEUDONYM_PREFIX + self.key(number)[:12]

