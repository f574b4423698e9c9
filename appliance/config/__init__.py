"""The configuration document: TOML in, checked settings out (docs/configuration.md).

The rest of the box imports from here, not from the modules inside: they are free to be reshaped.
"""

from .document import ConfigError, check, default_document, load, parse
from .lines import DIALECTS
from .model import HANDSET_PINS, Config, HandsetConfig, LineConfig
from .records import Records
from .validators import LANGUAGES

__all__ = ["DIALECTS", "HANDSET_PINS", "LANGUAGES", "Config", "ConfigError", "HandsetConfig", "LineConfig", "Records",
           "check", "default_document", "load", "parse"]
