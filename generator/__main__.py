"""`python -m generator` runs the `broadsheet` command line."""

from generator.cli import run

run()
