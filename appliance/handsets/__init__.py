"""Handsets wired to the Pi through gpiozero's pins.

The daemon drives its relays, reads its switches and pulses its modems' power keys through gpiozero's pin layer
(`factory.pin(n)`: appliance/pins.py), with the pin factory passed explicitly (gpio_backend.py, or gpiozero's
MockFactory). gpiozero's package `__init__` imports every device family it has (boards, tones, SPI and internal
devices, colorzero's colours) and, through them and the pin layer itself, importlib.metadata, statistics with decimal
and fractions, pprint and importlib.resources: some 1.3 MB of a Pi Zero's memory that the box never calls. So
before anything imports gpiozero:

* its package is made from its spec without running `__init__`, so `gpiozero.pins.*` load alone; the first name
  asked of the package itself (`from gpiozero import LED`) runs `__init__` then, for whoever wants the devices;
* while the pin layer loads, the few names it imports but calls only for what the box never does (software SPI
  builds its bus from InputDevice and OutputDevice; a smoothed input's queue averages with statistics.median) are
  bound to functions that import the real module at their first call; the stand-ins leave sys.modules after, so
  an `import statistics` elsewhere gets the real one;
* gpiozero takes the `importlib_metadata` backport first when there is one, only to look pin factories up by name
  among the installed packages' entry points, which the box never asks it to: a stand-in that loads the standard
  library's module only if a lookup really happens goes there, unless the real backport is installed.

A gpiozero that imports other names than these loads whole, as it always did (`_load_whole`).
"""

import importlib
import importlib.util
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

# What the pin layer (gpiozero.pins, .pins.spi and gpiozero.devices with the mixins they import) imports from
# each module without calling it on the box's path, and is given deferred.
DEFERRED = {
    "statistics": ("median", "mean"),
    "gpiozero.input_devices": ("InputDevice",),
    "gpiozero.output_devices": ("OutputDevice",),
}


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


def _deferred(module: str, name: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__module__ = module
    return call


@contextmanager
def _standing_in() -> Iterator[None]:
    # Only while this module is imported, which the daemon does before it starts a thread: no other import sees them.
    stand_ins = {}
    for module, names in DEFERRED.items():
        if module in sys.modules:  # already loaded for real: nothing to spare
            continue
        stand_in = stand_ins[module] = ModuleType(module, f"{module}, loaded at its first call")
        for name in names:
            setattr(stand_in, name, _deferred(module, name))
    sys.modules.update(stand_ins)
    try:
        yield
    finally:
        for module, stand_in in stand_ins.items():
            if sys.modules.get(module) is stand_in:
                del sys.modules[module]


def _package_without_init(spec: ModuleSpec) -> ModuleType:
    package = importlib.util.module_from_spec(spec)

    def rest_of_gpiozero(name: str) -> Any:
        if name.startswith("__"):  # the import system's questions (__path__ is set): not a device
            raise AttributeError(name)
        del package.__getattr__
        spec.loader.exec_module(package)  # type: ignore[union-attr]
        return getattr(package, name)

    package.__getattr__ = rest_of_gpiozero  # type: ignore[method-assign]
    return package


def _load_whole() -> None:
    for name in [name for name in sys.modules if name == "gpiozero" or name.startswith("gpiozero.")]:
        del sys.modules[name]
    importlib.import_module("gpiozero")


def _load_pin_layer() -> None:
    spec = importlib.util.find_spec("gpiozero")
    if spec is None or spec.loader is None:  # not installed (a tool run by the system's Python): parts.py says so
        return
    sys.modules["gpiozero"] = _package_without_init(spec)
    try:
        with _standing_in():
            importlib.import_module("gpiozero.pins.spi")  # imported by every pin factory's module
    except ImportError as exc:
        logging.getLogger(__name__).debug("gpiozero loaded whole: its pin layer imports more (%s)", exc)
        _load_whole()


if "gpiozero" not in sys.modules:
    _defer_entry_point_lookup()
    _load_pin_layer()
