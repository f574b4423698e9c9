"""`@lean`: a dataclass whose __eq__, __hash__, __repr__ (and a frozen one's __setattr__ and __delattr__) are one
shared function each, not generated per class.

`@dataclass` writes these for every class as source text naming its fields and compiles it: a frozen class with eq
and repr costs ~12.5 KB of code and function objects, ~7 of them these five (tracemalloc, the box's python 3.11).
The daemon holds ~130 such classes (events, config, the modem's happenings), ~110 of them frozen: ~0.8 MB of its
25 MB budget for methods that are mostly never called (equality is what tests and the reconfigure diff use,
repr what a log line or a failed assert prints). One function each, reading the class's field names from a
tuple, behaves the same:

- `==`: instances of exactly the same class compare their `compare` fields in order, else NotImplemented;
- `hash()`: the hash of the tuple of the fields `@dataclass` would hash (frozen classes with eq; a non-frozen
  class with eq is unhashable), unless the class body defines __hash__;
- `repr()`: `Class(field=value!r, ...)` over the `repr` fields, with the class's qualified name;
- frozen: assigning or deleting a field, or any attribute of the class's own instances, raises
  FrozenInstanceError (a plain subclass's instances may take attributes of their own), as @dataclass's do.

Everything else is `@dataclass`'s own (fields, __init__, __match_args__, replace()): the decorator calls it with eq
and repr off and adds the shared functions where `@dataclass` would have generated its own (never over a method the
class body defines). A frozen class is made frozen, so its __init__ still sets fields with object.__setattr__ (as
fast as before: a shared __setattr__ in __init__ made an event 2.5x slower to build); the two functions it is given
are replaced at once and freed while the daemon's modules are still loading. The shared == and hash() read the
fields by name: ~1 us a call against ~0.2 for the generated ones. `order` and `unsafe_hash`
are not taken: a class needing them uses `@dataclass`. Unlike `@dataclass`'s repr, the shared one has no guard
against a class that holds itself (none of the box's does).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T", bound=type)

_REPR, _COMPARE, _HASH = "_lean_repr", "_lean_compare", "_lean_hash"  # the field names, on each class
_FROZEN = "_lean_frozen"  # (the frozen class, its field names): a plain subclass's instances may take other attributes


def _values(obj: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(map(obj.__getattribute__, names))


def _eq(self: Any, other: object) -> Any:
    if other.__class__ is self.__class__:
        names = getattr(self.__class__, _COMPARE)
        return _values(self, names) == _values(other, names)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(_values(self, getattr(self.__class__, _HASH)))


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in getattr(self.__class__, _REPR))
    return f"{self.__class__.__qualname__}({shown})"


def _setattr(self: Any, name: str, value: Any) -> None:
    owner, fields = getattr(self.__class__, _FROZEN)
    if self.__class__ is owner or name in fields:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _delattr(self: Any, name: str) -> None:
    owner, fields = getattr(self.__class__, _FROZEN)
    if self.__class__ is owner or name in fields:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
    object.__delattr__(self, name)


def _make(cls: T, repr: bool, eq: bool, frozen: bool, kw_only: bool) -> T:  # noqa: A002 - dataclass's own names
    body = cls.__dict__
    share_repr = repr and "__repr__" not in body
    share_eq = eq and "__eq__" not in body
    # as @dataclass reads it: a body with __eq__ and no __hash__ has __hash__ = None, which is not the class's own
    own_hash = "__hash__" in body and not (body["__hash__"] is None and "__eq__" in body)
    made: Any = dataclasses.dataclass(cls, repr=repr and not share_repr, eq=eq and not share_eq, frozen=frozen,
                                      kw_only=kw_only)
    fields = dataclasses.fields(made)
    if frozen:  # its __init__ sets fields with object.__setattr__; the two it was given are dropped here
        setattr(made, _FROZEN, (made, frozenset(f.name for f in fields)))
        made.__setattr__ = _setattr  # type: ignore[assignment]
        made.__delattr__ = _delattr  # type: ignore[assignment]
    if share_repr:
        setattr(made, _REPR, tuple(f.name for f in fields if f.repr))
        made.__repr__ = _repr  # type: ignore[assignment]
    if share_eq:
        setattr(made, _COMPARE, tuple(f.name for f in fields if f.compare))
        made.__eq__ = _eq  # type: ignore[assignment]
    if eq and not own_hash:  # what @dataclass does with eq and no hash of the class's own
        if frozen:
            setattr(made, _HASH, tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash)))
            made.__hash__ = _hash  # type: ignore[assignment]
        else:
            made.__hash__ = None  # type: ignore[assignment]
    return made


@overload
def lean(cls: T, /) -> T: ...


@overload
def lean(*, repr: bool = True, eq: bool = True, frozen: bool = False,  # noqa: A002
         kw_only: bool = False) -> Callable[[T], T]: ...


@dataclass_transform(eq_default=True)
def lean(cls: Any = None, /, *, repr: bool = True, eq: bool = True, frozen: bool = False,  # noqa: A002
         kw_only: bool = False) -> Any:
    """`@dataclass` (with these of its arguments) sharing one __eq__, __hash__ and __repr__ among all classes."""
    if cls is None:
        return lambda cls: _make(cls, repr, eq, frozen, kw_only)
    return _make(cls, repr, eq, frozen, kw_only)
