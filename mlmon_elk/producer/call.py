"""One prediction call's values: built once by ``log_prediction``, read by everything after.

The values are taken as the caller gave them (typing them is the document
builder's job); a :class:`PredictionCall` is what a ``LogRecord`` carries to
the handler or formatter, what the handler's direct call makes, and what the
document builder and the batch splitter read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple

PREDICTION_ATTR: Final = "mlmon_prediction"
"""``LogRecord`` attribute carrying a :class:`PredictionCall` (set by ``log_prediction``)."""


class PredictionCall(NamedTuple):
    """The values of one ``log_prediction`` call.

    ``inputs`` is a mapping (one prediction) or a batch (see
    :mod:`mlmon_elk.producer.batches`). A named tuple: immutable, and four
    times cheaper to make than a frozen dataclass on the logging path.
    """

    inputs: Any
    """Mapping of input name → value (nested mappings are flattened), or a batch."""
    outputs: Any = None
    """Mapping of output name → value, or a bare value (``prediction``); one per row for a batch."""
    latency_ms: Any = None
    """Model latency in milliseconds; left out unless a finite number ≥ 0."""
    prediction_id: Any = None
    """The caller's id (e.g. its request id); generated when ``None``."""
    labels: Mapping[Any, object] | None = None
    """Flat segments added to the handler's static labels."""
    timestamp: Any = None
    """When it was made (epoch seconds, datetime, ISO-8601; per row for a batch); default now."""
    error: BaseException | None = None
    """The exception the model raised: ``event.outcome: failure`` and ``error.*``."""
    outcome: str | None = None
    """``success``, ``failure`` or ``unknown``, overriding the default."""
    model: str | None = None
    """Model name for this call instead of the handler's."""
    model_version: str | None = None
    """Model version for this call instead of the handler's."""
    feature_names: Sequence[object] | None = None
    """Column names of a 2-D array batch."""

    def __repr__(self) -> str:  # short: other handlers may print the record's attributes
        return f"PredictionCall(model={self.model!r}, prediction_id={self.prediction_id!r})"


class CallError(ValueError):
    """A value of a ``log_prediction`` call that cannot be used: the call is dropped.

    ``argument`` names the argument, so each kind of reason gets its own diagnostic.
    """

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"{argument}: {message}")
        self.argument = argument
