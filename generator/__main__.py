"""`python -m generator` runs the `broadsheet` command line."""

import sys

from generator.cli import main

sys.exit(main())
