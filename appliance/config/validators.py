"""One check per kind of value the configuration holds, used by every place that takes such a value.

The checks of what hardware can do (a GPIO pin, a ring cadence) live with the hardware's drivers, which
apply them too; they are named here with the others.

Each returns the value as the box uses it, or raises ValueError with a message that does not name the
field: the caller knows where the value stands (a config path, a web form's field) and says so. The
messages are English ids the web page reads in the admin's language (web/patterns.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TypeGuard, TypeVar

from ..core.problems import Problem
from .handset_rules import check_cadence as ring_cadence
from .handset_rules import gpio_pin

__all__ = ["LANGUAGES", "boolean", "checked", "gpio_pin", "identifier", "language_variants", "number", "one_of",
           "ring_cadence", "seconds"]

LANGUAGES = ("en", "ru")  # a caller hears prompts in one of these; the web pages are in them too

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")

T = TypeVar("T")


def checked(check: Callable[..., T], value: object, where: str, problems: list[Problem], *limits: object) -> T | None:
    """check(value, *limits), or None with the problem it found, named by where the value stands."""
    try:
        return check(value, *limits)
    except ValueError as exc:
        problems.append(Problem(where, str(exc)))
        return None


def identifier(value: object) -> str:
    """An id an admin gives a line, handset, prompt or flow node: it ends up in paths, URLs and logs."""
    if not isinstance(value, str) or not _ID.match(value):
        raise ValueError(f"{value!r}: use lowercase letters, digits, - and _")
    return value


def boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def seconds(value: object, low: float, high: float) -> float:
    if not _number(value) or not low <= value <= high:
        raise ValueError(f"must be seconds from {_plain(low)} to {_plain(high)}")
    return float(value)


def number(value: object, low: float, high: float) -> float:
    if not _number(value) or not low <= value <= high:
        raise ValueError(f"must be a number from {_plain(low)} to {_plain(high)}")
    return float(value)


def one_of(value: object, *options: str) -> str:
    if value not in options:
        raise ValueError(f"{value!r} is not one of {', '.join(options)}")
    return str(value)


def language_variants(key: str) -> tuple[str, ...]:
    """A text key and its per-language forms: wait_text, wait_text_en, wait_text_ru."""
    return (key, *(f"{key}_{lang}" for lang in LANGUAGES))


def _number(value: object) -> TypeGuard[int | float]:
    """A TOML number (true and false are not numbers), and a finite one."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _plain(number: float) -> str:
    """600 as "600" and 0.05 as "0.05", as an admin writes them."""
    return str(int(number)) if float(number).is_integer() else str(number)
