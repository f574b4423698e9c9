"""The configuration document: TOML in, checked settings out (docs/configuration.md).

The rest of the box imports from here, not from the modules inside: they are free to be reshaped.
"""

from .document import (
    DIALECTS,
    HANDSET_PINS,
    LANGUAGES,
    Config,
    ConfigError,
    LineConfig,
    check,
    default_document,
    load,
    parse,
)
from .records import Records

__all__ = ["DIALECTS", "HANDSET_PINS", "LANGUAGES", "Config", "ConfigError", "LineConfig", "Records", "check",
           "default_document", "load", "parse"]
