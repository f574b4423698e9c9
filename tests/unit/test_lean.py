"""`@lean` classes behave as `@dataclass` ones do: equality, hashing, repr, frozen-ness, replace()."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from appliance.core.lean import lean

ROOT = Path(__file__).resolve().parents[2]


def pair(**options: Any) -> tuple[type, type]:
    """The same class made by @dataclass and by @lean."""
    made = []
    for decorate in (dataclass, lean):
        @decorate(**options)
        class Sample:
            name: str
            count: int = 0
            note: str = field(default="", compare=False)
            secret: str = field(default="", repr=False)
            tags: tuple[str, ...] = field(default=(), hash=False)
        made.append(Sample)
    return made[0], made[1]


@pytest.mark.parametrize("options", [{}, {"frozen": True}, {"eq": False}, {"repr": False},
                                     {"frozen": True, "eq": False}, {"kw_only": True}])
def test_a_lean_class_compares_hashes_and_prints_as_a_dataclass_does(options):
    plain, shared = pair(**options)
    values = [dict(name="a"), dict(name="a", note="other"), dict(name="a", count=2), dict(name="b", tags=("x",)),
              dict(name="a", tags=("x",)), dict(name="a", secret="s")]
    for one in values:
        if options.get("repr", True):
            assert repr(shared(**one)) == repr(plain(**one)).replace(plain.__qualname__, shared.__qualname__)
        for other in values:
            assert (shared(**one) == shared(**other)) == (plain(**one) == plain(**other)), (one, other)
            assert (shared(**one) != shared(**other)) == (plain(**one) != plain(**other)), (one, other)
        if plain.__hash__ is None:
            assert shared.__hash__ is None
        elif plain.__hash__ is object.__hash__:
            assert shared.__hash__ is object.__hash__
        else:
            assert hash(shared(**one)) == hash(plain(**one))  # the same tuple hashed
    assert shared(name="a") != plain(name="a") and shared(name="a").__eq__("a") is NotImplemented
    assert dataclasses.replace(shared(name="a"), count=3).count == 3
    assert shared.__dataclass_params__.frozen == plain.__dataclass_params__.frozen  # type: ignore[attr-defined]
    for made in (plain, shared) if options.get("frozen") else ():
        one = made(name="a")
        for change, name in ((setattr, "count"), (setattr, "other"), (delattr, "count"), (delattr, "other")):
            with pytest.raises(dataclasses.FrozenInstanceError):
                change(one, name, 1) if change is setattr else change(one, name)
        assert one.count == 0

        class Loose(made):  # type: ignore[valid-type,misc]  # a plain subclass may take attributes of its own
            pass

        loose = Loose(name="a")
        loose.other = 1
        del loose.other
        with pytest.raises(dataclasses.FrozenInstanceError):
            loose.name = "b"


def test_methods_of_the_class_body_stay_and_subclasses_compare_their_own_fields():
    @lean(frozen=True)
    class Shown:
        value: int

        def __repr__(self) -> str:
            return "shown"

        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = object.__hash__

    assert repr(Shown(1)) == "shown" and Shown(1) == Shown(2) and Shown.__hash__ is object.__hash__
    for decorate in (dataclass, lean):
        @decorate(frozen=True)
        class Equal:
            value: int

            def __eq__(self, other: object) -> bool:
                return True

        assert hash(Equal(1)) == hash(Equal(1))  # frozen with an __eq__ of its own: still hashed by its fields
        with pytest.raises(TypeError):
            @decorate(frozen=True)
            class Settable:
                value: int

                def __setattr__(self, name: str, value: object) -> None:
                    pass

    @lean
    class Base:
        a: int

    @lean
    class Child(Base):
        b: int = 0

    assert Child(1, 2) != Child(1, 3) and Child(1, 2) == Child(1, 2) and Base(1) != Child(1)
    assert repr(Child(1, 2)).endswith("<locals>.Child(a=1, b=2)")


def test_lean_classes_share_one_function_each():
    plain, shared = pair(frozen=True)
    other = pair(frozen=True)[1]
    for method in ("__eq__", "__hash__", "__repr__", "__setattr__", "__delattr__"):
        assert getattr(shared, method) is getattr(other, method)
        assert getattr(plain, method) is not getattr(pair(frozen=True)[0], method)


# A fresh interpreter that loads what `hotline run` loads before READY=1; prints the own dataclasses' methods that
# @dataclass compiled for them (a test process holds more modules: the simulator's, the tests').
GENERATED = """
import dataclasses, importlib, json, sys
from appliance.dataclass_code import DAEMON
for module in DAEMON:
    importlib.import_module(module)
generated = []
for name, module in list(sys.modules.items()):
    if name.startswith("appliance."):
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == name and dataclasses.is_dataclass(value):
                for method in ("__eq__", "__hash__", "__repr__", "__setattr__", "__delattr__"):
                    code = getattr(value.__dict__.get(method), "__code__", None)
                    if code is not None and code.co_filename == "<string>":  # the text @dataclass compiles
                        generated.append(name + "." + value.__qualname__ + "." + method)
print(json.dumps(generated))
"""


def test_no_class_the_daemon_loads_carries_its_own_generated_eq_hash_repr_or_frozen_setattr():
    """Each would be ~4-7 KB of code and function objects in the idle daemon (docs/proof.md, "memown")."""
    out = subprocess.run([sys.executable, "-c", GENERATED], capture_output=True, text=True, check=True, cwd=ROOT)
    assert json.loads(out.stdout) == []
