"""The `broadsheet` command, and `python -m generator`: the command line (`generator.cli`),
imported here so that Ctrl-C while Python imports it ends the command as Ctrl-C does
later, in one line, rather than with a traceback."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # as `typing.TYPE_CHECKING`, without importing `typing`
if TYPE_CHECKING:
    from typing import NoReturn

STARTING_INTERRUPTED = "interrupted while starting: nothing was read or written"
EXIT_INTERRUPTED = 130
"""As `generator.cli.EXIT_INTERRUPTED`, which is not imported yet when it is needed."""


def main() -> NoReturn:
    try:
        from generator.cli import run
    except KeyboardInterrupt:
        sys.stderr.write(STARTING_INTERRUPTED + "\n")
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    run()


if __name__ == "__main__":
    main()
