"""The benches' prediction documents of 50 features: 35 numeric, 12 categorical, 3 text.

Named once for the engine bench (``bench/engine.py``) and the JSON-lines benches
(``bench/embedded.py``, ``bench/embedded_memory.py``): the frame of raw values, the
handler's text inputs, the baseline's declared kinds and DuckDB's typed columns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlmon_elk.contract import Kind
from mlmon_elk.producer.handler import PredictionHandler

NUMERIC = [f"num{i:02d}" for i in range(35)]
CATEGORICAL = [f"cat{i:02d}" for i in range(12)]
TEXT = [f"text{i}" for i in range(3)]
WORDS = [f"word{i}" for i in range(300)]
KINDS = dict.fromkeys(TEXT, Kind.TEXT)
"""The baseline's declared kinds: the text inputs (numbers and keywords are inferred)."""


def frame(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` rows of raw values: numeric, categorical (2–35 levels) and five-word texts."""
    data: dict[str, Any] = {}
    for i, name in enumerate(NUMERIC):
        data[name] = rng.normal(i, 1 + i % 5, n).round(3)
    for i, name in enumerate(CATEGORICAL):
        data[name] = rng.choice([f"v{k}" for k in range(2 + 3 * i)], n)
    for name in TEXT:
        data[name] = [" ".join(w) for w in rng.choice(WORDS, (n, 5))]
    return pd.DataFrame(data)


def file_handler(path: Path, documents: int, **options: Any) -> PredictionHandler:
    """The handler a bench logs ``documents`` documents through into ``path``: model
    ``bench`` version 1, the text inputs declared, no spool, no counters, and a queue
    that holds them all (the benches measure reading, not back-pressure)."""
    return PredictionHandler(
        f"file://{path}",
        model="bench",
        model_version="1",
        text_inputs=TEXT,
        spool_dir=None,
        queue_size=documents + 1_000,
        counters_interval=0,
        **options,
    )
