"""The garbage collector in a serving process.

A started server holds a few hundred thousand objects that live as long as the process
(modules, the app, its routes and models, SQLAlchemy's mappers, the SDK's types). Python's
cyclic collector scans all of them on every full (oldest-generation) collection: measured
at 200 live interviews, that was a 160–190 ms pause of the event loop mid-run, during
which every interview's audio waited (docs/performance.md, "The garbage collector").
:func:`settle` moves what exists after start-up into the permanent generation
(``gc.freeze``), so that later full collections scan only what interviews created. The
start-up objects are not garbage: nothing is lost by never scanning them.

What full collections still scan is what live interviews hold (~520 tracked objects
each), and it pauses them all just the same: at 500 interviews on two workers, a full
collection took 40–300 ms in a worker and came every 6–10 s while audio streamed (CPython
starts one after every 10 collections of the middle generation, once a quarter more
objects have reached the oldest since the last — and while audio streams, every
in-flight frame's objects that a young collection finds alive count). :func:`settle`
also spaces full collections ten times further apart (:data:`FULL_COLLECTION_AFTER`).
The cost: cyclic garbage that reached the oldest generation waits that much longer to
be freed (an interview's own objects are freed by reference counting as it ends).
"""

from __future__ import annotations

import gc
import logging

from vivavoce import metrics

__all__ = ["FULL_COLLECTION_AFTER", "settle"]

log = logging.getLogger("vivavoce")

# Collections of the middle generation between two full ones (CPython's default: 10).
FULL_COLLECTION_AFTER = 100


def settle() -> int:
    """Collect once, then freeze everything left out of the collector's scans, and space
    later full collections out (see the module). Returns how many objects are frozen
    (also the ``vivavoce_gc_frozen_objects`` gauge)."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_AFTER)
    frozen = gc.get_freeze_count()
    metrics.set_gc_frozen_objects(frozen)
    log.debug("start-up objects frozen out of the garbage collector's scans: %d", frozen)
    return frozen
