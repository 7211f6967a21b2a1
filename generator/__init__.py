"""Broadsheet: a static site generator for collections of news articles.

The public API is small: `build` runs the whole pipeline and returns a report;
`BuildError` carries the diagnostics of a build that could not run.
"""

from __future__ import annotations

from generator.builder import BuildOptions, BuildReport, build
from generator.diagnostics import BuildError, Diagnostic, Severity
from generator.version import __version__

__all__ = [
    "BuildError",
    "BuildOptions",
    "BuildReport",
    "Diagnostic",
    "Severity",
    "__version__",
    "build",
]
