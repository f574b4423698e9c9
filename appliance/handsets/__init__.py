"""Handsets wired to the Pi through gpiozero.

gpiozero imports importlib.metadata when it loads, only to look pin factories up by name among the installed
packages' entry points. The box never asks it to (the daemon passes its pin factory to every device:
gpio_backend.py), yet the import alone brings email, zipfile and csv into the daemon: a megabyte of a Pi
Zero's memory and some 60 ms of its start. gpiozero takes the `importlib_metadata` backport first when there
is one, so a stand-in that loads the standard library's module only if a lookup really happens goes there,
unless the real backport is installed.
"""

import importlib.util
import sys
from types import ModuleType
from typing import Any


def _defer_entry_point_lookup() -> None:
    if "importlib_metadata" in sys.modules or importlib.util.find_spec("importlib_metadata") is not None:
        return
    stand_in = ModuleType("importlib_metadata", "importlib.metadata, loaded at its first use")

    def entry_points(*args: Any, **kwargs: Any) -> Any:
        import importlib.metadata

        return importlib.metadata.entry_points(*args, **kwargs)

    def everything_else(name: str) -> Any:
        if name.startswith("__"):  # the import system asks for __path__ and the like: not a package
            raise AttributeError(name)
        import importlib.metadata

        return getattr(importlib.metadata, name)

    stand_in.entry_points = entry_points  # type: ignore[attr-defined]
    stand_in.__getattr__ = everything_else  # type: ignore[method-assign]
    sys.modules["importlib_metadata"] = stand_in


if "gpiozero" not in sys.modules:
    _defer_entry_point_lookup()
