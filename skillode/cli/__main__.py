"""`python -m skillode.cli`: the skillode command line."""

import sys

from . import main

sys.exit(main())
