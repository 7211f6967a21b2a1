"""The generator's version, stamped into caches so a new version never trusts old ones."""

from __future__ import annotations

__version__ = "0.2.0"
