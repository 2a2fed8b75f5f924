"""Save and restore process-wide logging state around tests that call setup_logging."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from vivavoce import redact as redact_module
from vivavoce.redact import LOGGERS

__all__ = ["preserved_logging"]

_QUIETED = ("httpx", "httpcore", "httpx2", "httpcore2", "websockets", "openai")


@contextlib.contextmanager
def preserved_logging() -> Iterator[None]:
    """Whatever setup_logging/install_redaction change is put back afterwards."""
    root = logging.getLogger()
    loggers = [root, *(logging.getLogger(n) for n in (*LOGGERS, *_QUIETED))]
    saved = [
        (lg, list(lg.handlers), list(lg.filters), lg.level, lg.propagate) for lg in loggers
    ]
    handler_filters = {id(h): (h, list(h.filters)) for lg in loggers for h in lg.handlers}
    factory = logging.getLogRecordFactory()
    installed = redact_module._factory_installed
    try:
        yield
    finally:
        for logger, handlers, filters, level, propagate in saved:
            for handler in logger.handlers:
                if handler not in handlers:
                    handler.close()
            logger.handlers[:] = handlers
            logger.filters[:] = filters
            logger.setLevel(level)
            logger.propagate = propagate
        for handler, filters in handler_filters.values():
            handler.filters[:] = filters
        logging.setLogRecordFactory(factory)
        redact_module._factory_installed = installed
