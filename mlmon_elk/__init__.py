"""mlmon-elk: ML-model monitoring on the Elastic stack.

The logging side is importable without pandas, scipy or APScheduler::

    import logging
    from mlmon_elk import PredictionHandler, log_prediction

    logger = logging.getLogger("predictions")
    logger.addHandler(PredictionHandler("tcp://logstash:5000", model="churn", model_version="3"))
    log_prediction(logger, inputs={"tenure": 7}, outputs={"score": 0.83}, latency_ms=4.2)
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the lazy names, typed for type checkers
    from mlmon_elk.errors import MlmonError as MlmonError
    from mlmon_elk.producer.api import log_prediction, monitored
    from mlmon_elk.producer.formatter import PredictionFormatter
    from mlmon_elk.producer.handler import PredictionHandler
    from mlmon_elk.producer.outcomes import log_outcome

try:
    __version__ = version("mlmon-elk")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

# Public name → defining module, imported on first use so `import mlmon_elk`
# stays cheap and never pulls in the analyzer's dependencies.
_LAZY = {
    "PredictionHandler": "mlmon_elk.producer.handler",
    "PredictionFormatter": "mlmon_elk.producer.formatter",
    "log_prediction": "mlmon_elk.producer.api",
    "monitored": "mlmon_elk.producer.api",
    "log_outcome": "mlmon_elk.producer.outcomes",
    "MlmonError": "mlmon_elk.errors",
}

__all__ = [
    "PredictionFormatter",
    "PredictionHandler",
    "__version__",
    "log_outcome",
    "log_prediction",
    "monitored",
]

# A library never configures logging for its users (stdlib advice).
logging.getLogger(__name__).addHandler(logging.NullHandler())


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'mlmon_elk' has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(module), name)
