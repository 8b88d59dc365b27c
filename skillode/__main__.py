"""`python -m skillode`: the skillode command line."""

import sys

from .cli import main

sys.exit(main())
