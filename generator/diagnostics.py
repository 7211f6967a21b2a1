"""Diagnostics: the problems a build finds, as values.

Owns the `Diagnostic` record and its one-line text form (`path:line: error: message`).
Stages collect diagnostics and hand them on; only the CLI prints them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem, tied to a file and, where known, a line (1-based)."""

    path: str
    line: int | None
    severity: Severity
    message: str

    def __str__(self) -> str:
        path = self.path if self.path.isprintable() else _escaped(self.path)
        where = path if self.line is None else f"{path}:{self.line}"
        return f"{where}: {self.severity.value}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def kind_of(value: object) -> str:
    """What a value read from YAML is, in the words of someone writing YAML (`text`, not
    `str`): messages say what was written instead of what was wanted."""
    if value is None:
        return "empty"
    for kind, name in _KINDS:
        if isinstance(value, kind):
            return name
    return type(value).__name__


_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "a boolean"),  # before int, which it is too
    (int, "a whole number"),
    (float, "a decimal number"),
    (str, "text"),
    (dict, "a mapping"),
    (list, "a list"),
    (datetime, "a date and time"),
    (date, "a date"),
)


def _escaped(path: str) -> str:
    """A file name holding a line break or other control character, written with
    escapes: a name must not start a line of the report of its own."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in path)


def is_utf8(name: str) -> bool:
    """Whether a file name read from the system is UTF-8 (else it holds the escapes
    Python gives bytes it cannot decode, which no page, URL, cache or message can hold)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown_name(name: str) -> str:
    """A file name that is not UTF-8, as messages show it: its bytes as `\\xe9` escapes."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def error(path: str, line: int | None, message: str) -> Diagnostic:
    return Diagnostic(path, line, Severity.ERROR, message)


def warning(path: str, line: int | None, message: str) -> Diagnostic:
    return Diagnostic(path, line, Severity.WARNING, message)


def sort_key(diagnostic: Diagnostic) -> tuple[str, int, str]:
    return (diagnostic.path, diagnostic.line or 0, diagnostic.message)


class BuildError(Exception):
    """The build cannot run at all (bad config, template error, unwritable output).

    Carries every diagnostic found, so one run shows every problem.
    """

    def __init__(self, diagnostics: tuple[Diagnostic, ...], midway: bool = False) -> None:
        super().__init__("\n".join(str(d) for d in diagnostics))
        self.diagnostics = diagnostics
        self.midway = midway
        """Whether it stopped a commit midway: `output/` then holds part of the new site,
        every link working, and the next build finishes the commit."""


class BuildCancelled(Exception):
    """The build was asked to stop (its `cancel` event was set) and stopped before it
    changed the output folder."""


def stop_if_cancelled(cancel: threading.Event | None) -> None:
    """Raise `BuildCancelled` if `cancel` is set: called between steps of a build."""
    if cancel is not None and cancel.is_set():
        raise BuildCancelled
