"""`python -m appliance.cli`: the `hotline` command."""

import sys

from . import main

sys.exit(main())
