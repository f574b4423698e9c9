"""Every key the configuration document knows, by where it may stand.

A misspelt key (`baud_rate` for `baudrate`) used to be ignored, so the box ran on the default while the
admin believed the setting was in force. Now it is refused, naming where it stands and the nearest known
key. This is the one place that says which keys exist; the parsers check their values.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import field, fields

from appliance.core.lean import lean

from ..core.flow import Node
from ..core.problems import Problem
from ..core.schedule import DAYS
from ..records.privacy import RETENTION_KINDS
from .alerts import RULE_KEYS, SMTP_KEYS
from .model import HANDSET_KEYS, LineConfig
from .texts import KEYS as TEXT_KEYS
from .validators import language_variants


@lean(frozen=True)
class Table:
    """A TOML table: its known keys, each a nested Table/Items or None for a value the parsers check."""

    keys: Mapping[str, Table | Items | None] = field(default_factory=dict)
    names: Table | None = None  # a table of admin-chosen names (prompts, flow nodes), each shaped like this


@lean(frozen=True)
class Items:
    """An array of tables ([[lines]]), each shaped like `table`."""

    table: Table


def _leaves(*names: str) -> dict[str, None]:
    return dict.fromkeys(names)


_NODE = Table({"type": None, **_leaves(*(f.name for f in fields(Node) if f.name != "id"))})

DOCUMENT = Table({
    "box": Table(_leaves("name", "language", "country")),
    "ringing": Table(_leaves("cadence", "custom")),
    "lines": Items(Table(_leaves(*(f.name for f in fields(LineConfig))))),
    "handsets": Items(Table(_leaves(*HANDSET_KEYS))),
    "schedule": Table({**_leaves("timezone", "always_open", "holidays", "special_days", "override",
                                 "when_time_unknown"), "hours": Table(_leaves(*DAYS))}),
    "prompts": Table(names=Table(_leaves("text", "lang", "file", "voice"))),
    "flow": Table({"start": None, "nodes": Table(names=_NODE)}),
    "operators": Items(Table(_leaves("name", "skills", "ring_timeout", "wrap_up", "retry_pause", "max_missed",
                                     "weight", "phone"))),
    "roster": Items(Table(_leaves("operator", "handset", "days", "hours"))),
    "queue": Table({**_leaves("strategy", "announce_every", "hold_music", "handover_whisper",
                              *language_variants("position_text"), *language_variants("wait_text")),
                    "tiers": Items(Table(_leaves("after", "min_level")))}),
    "callbacks": Table(_leaves("max_attempts", "retry_after")),
    "callers": Table({"blocked": Items(Table(_leaves("number", "key", "until", "note"))), "priority": None,
                      "lists": None}),
    "privacy": Table(_leaves("numbers")),
    "retention": Table(_leaves(*RETENTION_KINDS, "audit")),
    "webhooks": Items(Table(_leaves("url", "secret", "events", "allow_http", "allow_private"))),
    "recording": Table(_leaves("calls", "announcement")),
    "storage": Table(_leaves("warn_free_mb", "warn_free_percent")),
    "transfer": Table(_leaves("allowed")),
    "fleet": Table(_leaves("broker", "box", "username", "password", "ca_file", "allow_plain", "keepalive",
                           "share_callers", "queue", "numbers", "move_after")),
    "alerts": Items(Table(_leaves(*RULE_KEYS))),
    "smtp": Table(_leaves(*SMTP_KEYS)),
    "speech": Table(_leaves("engine", "transcripts", "min_free_mb")),
    "texts": Table(_leaves(*TEXT_KEYS)),
})


def unknown_key(where: str, key: str, known: list[str]) -> Problem:
    """The problem for `key` at `where`: the nearest known key, or (nothing near) the ones that are known."""
    path = f"{where}.{key}" if where else key
    import difflib  # only for a config with a mistake in it: a running box need not hold it

    near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if near:
        return Problem(path, f"unknown key; did you mean {near[0]}?")
    return Problem(path, f"unknown key; known here: {', '.join(sorted(known))}")


def unknown_keys(document: Mapping[str, object]) -> list[Problem]:
    """A problem for every key the document has where no such key is known."""
    return list(_walk(document, DOCUMENT, ""))


def _walk(value: object, shape: Table | Items | None, where: str) -> Iterator[Problem]:
    # A value of the wrong type is left to the parser that reads it: it says what the value should be.
    if isinstance(shape, Items):
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield from _walk(item, shape.table, f"{where}[{i}]")
        return
    if shape is None or not isinstance(value, Mapping):
        return
    for key, item in value.items():
        path = f"{where}.{key}" if where else str(key)
        if shape.names is not None:
            yield from _walk(item, shape.names, path)
        elif key in shape.keys:
            yield from _walk(item, shape.keys[key], path)
        else:
            yield unknown_key(where, str(key), list(shape.keys))
