"""gunicorn settings for the example app: several worker processes, fork-safe logging.

``preload_app`` imports the app — and so creates the ``PredictionHandler`` —
once in the master, then forks the workers. The handler registers an
``os.register_at_fork`` hook, so every worker starts its own sender thread
(threads do not survive ``fork()``) and its own spool segment; no
``post_fork`` hook is needed. ``worker_exit`` flushes what a worker still
holds, within the handler's ``close_timeout``, when gunicorn stops it.
"""

from __future__ import annotations

import logging
import os
from typing import Any

# Loopback unless asked otherwise: MLMON_APP_BIND=0.0.0.0:8000 (or --bind) to serve others.
bind = os.environ.get("MLMON_APP_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("MLMON_APP_WORKERS", "2"))
preload_app = True
timeout = 30
graceful_timeout = 15  # longer than the handler's close_timeout (5 s)
accesslog = "-"


def worker_exit(server: Any, worker: Any) -> None:
    """Deliver (or spool) what this worker logged before it goes."""
    logging.shutdown()
