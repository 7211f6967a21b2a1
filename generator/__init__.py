"""Broadsheet: a static site generator for collections of news articles.

The public API is small: `build` runs the whole pipeline and returns a report;
`BuildError` carries the diagnostics of a build that could not run.

Importing the package imports none of the pipeline: each name is imported when first
asked for, so the command line (`generator.__main__`) starts with nothing in the way of
Ctrl-C but Python itself.
"""

from __future__ import annotations

import importlib

from generator.version import __version__

TYPE_CHECKING = False  # as `typing.TYPE_CHECKING`, without importing `typing`
if TYPE_CHECKING:
    from generator.builder import BuildOptions, BuildReport, build
    from generator.diagnostics import BuildError, Diagnostic, Severity

__all__ = [
    "BuildError",
    "BuildOptions",
    "BuildReport",
    "Diagnostic",
    "Severity",
    "__version__",
    "build",
]

_HOMES = {
    "BuildOptions": "generator.builder",
    "BuildReport": "generator.builder",
    "build": "generator.builder",
    "BuildError": "generator.diagnostics",
    "Diagnostic": "generator.diagnostics",
    "Severity": "generator.diagnostics",
}
"""The module each public name comes from."""


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'generator' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # asked once
    return value
