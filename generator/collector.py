"""The cycle collector around a build.

Loading and assembling make hundreds of thousands of long-lived objects and no garbage
cycles: the collector would walk them all again and again. It is paused while they are
made (`pause`) and resumed with them out of its reach (`resume`), since rendering does
leave cycles behind. What a build made then joins the oldest generation without being
counted as new there (`end`), so Python's own rule for a full collection (a quarter more
long-lived objects than after the last one) never sees it: `end` keeps a rule of its own
for builds whose caller asks it to.
"""

from __future__ import annotations

import gc
import sys
import threading

GROWTH_BEFORE_COLLECTING = 0.25
"""How much more memory the process holds in Python's small blocks (as a share of what it
held after the last full collection) before `end` runs another: the share Python's own
rule allows its oldest generation to grow by. (Blocks are counted in a millisecond;
counting the objects the collector tracks took 24 ms at 3 million.)"""

_lock = threading.Lock()
_after_last: int | None = None
"""The blocks held after the last full collection `end` ran (or, before one, after the
first build it ended)."""


def pause() -> bool:
    """Pause the collector for a build; whether it was running."""
    collecting = gc.isenabled()
    gc.disable()
    return collecting


def resume(collecting: bool) -> None:
    """Freeze what the build holds (forked workers then never touch it to mark it, so
    its memory pages stay shared) and let the collector run again for what follows."""
    gc.freeze()
    if collecting:
        gc.enable()


def end(collecting: bool, keep_in_step: bool) -> None:
    """Put whatever the build made in the oldest generation (frozen first, so none is
    left among the youngest: no collection of the youngest, due as soon as the collector
    runs again, walks all that a build ended early read), and resume the collector as
    `pause` found it. With `keep_in_step` (and the collector running), collect in full
    once the memory held has grown by `GROWTH_BEFORE_COLLECTING` since the last time:
    the garbage cycles of builds run one after another are then freed, as Python frees
    those of any long-lived objects."""
    gc.freeze()
    gc.unfreeze()
    if collecting:
        gc.enable()
        if keep_in_step:
            _keep_in_step()


def _keep_in_step() -> None:
    global _after_last
    with _lock:
        held = sys.getallocatedblocks()
        if _after_last is None:
            _after_last = held
        elif held > _after_last * (1 + GROWTH_BEFORE_COLLECTING):
            gc.collect()
            _after_last = sys.getallocatedblocks()
