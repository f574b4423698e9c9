"""The code @dataclass generates for the daemon's classes is compiled once at install and handed back at start."""

from __future__ import annotations

import dataclasses
import json
import marshal
import subprocess
import sys
from pathlib import Path

import pytest

from appliance import dataclass_code

REPO = Path(__file__).resolve().parents[2]

STARTS = """
import dataclasses, json, sys
from appliance import dataclass_code
dataclass_code.use({prefix!r})
import appliance.cli.serve, appliance.service.daemon
from appliance.core.events.line import LineUp
made = dataclasses.exec
print(json.dumps({{"compiled": len(made.compiled), "left": len(made.known), "repr": repr(LineUp("gsm1"))}}))
"""


def test_a_start_builds_every_dataclass_of_the_daemon_from_the_code_recorded_at_install(tmp_path):
    """Before: each start compiled ~590 generated functions (35-49 ms of ~170 ms of imports here)."""
    recorded = subprocess.run([sys.executable, "-m", "appliance.dataclass_code", str(tmp_path)], cwd=REPO,
                              capture_output=True, text=True, check=True).stdout
    # the __init__ of each of the daemon's ~130 classes (their __eq__, __hash__, __repr__ and a frozen one's
    # __setattr__ and __delattr__ are one shared function each: appliance/core/lean.py)
    assert int(recorded.split()[0]) > 100
    out = subprocess.run([sys.executable, "-c", STARTS.format(prefix=str(tmp_path))], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    start = json.loads(out)
    assert start["compiled"] == 0 and start["left"] == 0  # nothing compiled at start, nothing recorded unused
    assert start["repr"] == "LineUp(line='gsm1', transfers=True)"


def _classes() -> tuple[type, type]:
    @dataclasses.dataclass(frozen=True)
    class Frozen:
        name: str
        tags: tuple[str, ...] = ()
        extra: list = dataclasses.field(default_factory=list, compare=False)

    @dataclasses.dataclass(order=True)
    class Ordered:
        n: int
        seen: bool = False

        def __post_init__(self) -> None:
            self.seen = True

    return Frozen, Ordered


def test_classes_built_from_recorded_code_behave_as_classes_compiled_at_once(tmp_path, monkeypatch):
    plain = _classes()
    recorder = dataclass_code._Exec({})
    monkeypatch.setattr(dataclasses, "exec", recorder, raising=False)
    _classes()
    again = dataclass_code._Exec(dict(recorder.compiled))
    monkeypatch.setattr(dataclasses, "exec", again)
    frozen, ordered = _classes()
    assert again.compiled == {} and again.known == {}  # built from recorded code alone, each used up
    for made, original in zip((frozen, ordered), plain, strict=True):
        for name in ("__init__", "__repr__", "__eq__"):
            assert getattr(made, name).__annotations__ == getattr(original, name).__annotations__
    one = frozen("a", ("x",))
    assert repr(one) == "_classes.<locals>.Frozen(name='a', tags=('x',), extra=[])"
    assert one == frozen("a", ("x",), [1]) and hash(one) == hash(frozen("a", ("x",)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.name = "b"  # type: ignore[misc]
    assert ordered(1) < ordered(2) and ordered(1).seen


def test_without_a_recording_nothing_changes(tmp_path, monkeypatch):
    monkeypatch.delattr(dataclasses, "exec", raising=False)
    dataclass_code.use(str(tmp_path))  # no file: dataclasses keep the builtin exec
    assert not hasattr(dataclasses, "exec")
    (tmp_path / dataclass_code._file(tmp_path).name).write_bytes(b"not marshal")
    dataclass_code.use(str(tmp_path))
    assert not hasattr(dataclasses, "exec")
    dataclass_code._file(tmp_path).write_bytes(marshal.dumps({"magic": b"old!", "code": {}}))  # another interpreter's
    dataclass_code.use(str(tmp_path))
    assert not hasattr(dataclasses, "exec")
