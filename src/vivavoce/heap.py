"""The garbage collector in a serving process.

A started server holds a few hundred thousand objects that live as long as the process
(modules, the app, its routes and models, SQLAlchemy's mappers, the SDK's types). Python's
cyclic collector scans all of them on every full (oldest-generation) collection: measured
at 200 live interviews, that was a 160–190 ms pause of the event loop mid-run, during
which every interview's audio waited (docs/performance.md, "The garbage collector").
:func:`settle` moves what exists after start-up into the permanent generation
(``gc.freeze``), so that later full collections scan only what interviews created. The
start-up objects are not garbage: nothing is lost by never scanning them.
"""

from __future__ import annotations

import gc
import logging

from vivavoce import metrics

__all__ = ["settle"]

log = logging.getLogger("vivavoce")


def settle() -> int:
    """Collect once, then freeze everything left out of the collector's scans. Returns
    how many objects are frozen (also the ``vivavoce_gc_frozen_objects`` gauge)."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    metrics.set_gc_frozen_objects(frozen)
    log.debug("start-up objects frozen out of the garbage collector's scans: %d", frozen)
    return frozen
