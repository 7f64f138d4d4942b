"""Logging predictions: ``log_prediction`` and the ``monitored`` decorator / context manager.

Both work with a standard :class:`logging.Logger` (any handler configuration;
a :class:`~mlmon_elk.PredictionHandler` on it or an ancestor writes the
document) or directly with a ``PredictionHandler`` (no ``LogRecord`` at all:
the cheapest path). Neither ever raises into the serving code — except that
``monitored`` re-raises the model's own exception after recording it.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, ParamSpec, TypeAlias, TypeVar

from mlmon_elk.producer.batches import is_batch
from mlmon_elk.producer.call import PREDICTION_ATTR, PredictionCall
from mlmon_elk.producer.diagnostics import Diagnostics
from mlmon_elk.producer.handler import PredictionHandler

P = ParamSpec("P")
R = TypeVar("R")

Target: TypeAlias = "logging.Logger | logging.LoggerAdapter[Any] | PredictionHandler"
"""Where a prediction is logged: a logger (or adapter) or a handler directly."""

_diagnostics = Diagnostics()


def log_prediction(
    target: Target,
    *,
    inputs: Any,
    outputs: Any = None,
    latency_ms: Any = None,
    prediction_id: Any = None,
    labels: Mapping[Any, object] | None = None,
    timestamp: Any = None,
    error: BaseException | None = None,
    outcome: str | None = None,
    model: str | None = None,
    model_version: str | None = None,
    feature_names: Sequence[object] | None = None,
    level: int = logging.INFO,
    stacklevel: int = 1,
) -> None:
    """Log one prediction (or a batch: one document per row).

    Through a logger, the record carries the prediction for
    ``PredictionHandler`` and a short message for every other handler
    (``"mlmon prediction: 1 row, success, 4.2 ms"``). Never raises.

    Args:
        target: A ``logging.Logger`` (or ``LoggerAdapter``), or a ``PredictionHandler``.
        inputs: Mapping of input name → value, or a batch (pandas DataFrame,
            list of mappings, 2-D numpy array with ``feature_names``, structured array).
        outputs: Mapping of output name → value, a bare value (logged as
            ``prediction``), or for a batch one per row (list, array, Series,
            DataFrame, or a mapping of columns).
        latency_ms: Model latency in milliseconds (a batch's rows all get it).
        prediction_id: The caller's request id; for a batch one per row or one
            string (``<id>-<row>``); generated when ``None``.
        labels: Flat segments (tenant, region…) for this prediction.
        timestamp: When the prediction was made: epoch seconds, a datetime or an
            ISO-8601 string (naive means UTC); for a batch one, or one per row
            (list, array, Series); default now.
        error: The exception the model raised: ``event.outcome: failure`` and ``error.*``.
        outcome: ``success``, ``failure`` or ``unknown`` (default from ``error``).
        model: Model name for this call instead of the handler's.
        model_version: Model version for this call instead of the handler's.
        feature_names: Column names of a 2-D array batch.
        level: Logging level of the record (default INFO).
        stacklevel: As in ``Logger.log``: which caller the record names.

    Example:
        >>> import logging
        >>> log_prediction(logging.getLogger("predictions"), inputs={"age": 41}, outputs=0.83)
    """
    if isinstance(target, PredictionHandler):
        target.log_prediction(
            inputs=inputs,
            outputs=outputs,
            latency_ms=latency_ms,
            prediction_id=prediction_id,
            labels=labels,
            timestamp=timestamp,
            error=error,
            outcome=outcome,
            model=model,
            model_version=model_version,
            feature_names=feature_names,
        )
        return
    try:
        logger = target.logger if isinstance(target, logging.LoggerAdapter) else target
        if not logger.isEnabledFor(level):
            return
        call = PredictionCall(
            # A shallow copy: a handler behind a queue still sees the call's values.
            dict(inputs) if type(inputs) is dict else inputs,
            dict(outputs) if type(outputs) is dict else outputs,
            latency_ms,
            prediction_id,
            labels,
            timestamp,
            error,
            outcome,
            model,
            model_version,
            feature_names,
        )
        filename, line, function = _caller(stacklevel)
        rows = 1 if type(inputs) is dict or not is_batch(inputs) else len(inputs)
        state = outcome or ("failure" if error is not None else "success")
        args: tuple[object, ...]
        if latency_ms is None:
            message, args = "mlmon prediction: %d row(s), %s", (rows, state)
        else:
            message, args = "mlmon prediction: %d row(s), %s, %s ms", (rows, state, latency_ms)
        record = logger.makeRecord(
            logger.name, level, filename, line, message, args, None, function
        )
        record.__dict__[PREDICTION_ATTR] = call
        logger.handle(record)
    except Exception as exc:  # never into the serving app
        _diagnostics.warning("log_prediction", "log_prediction failed: %r", exc)


class monitored:
    """Time a prediction, record failures, log it — as a decorator or a context manager.

    As a decorator, the inputs are an argument of the function (the first
    one, skipping ``self``/``cls``, unless ``inputs_arg`` names another) and
    the outputs its return value (or ``outputs(result)``)::

        @monitored(logger)
        def predict(features: dict) -> float: ...

    As a context manager, set what you know on the object it returns::

        with monitored(handler, inputs=features) as m:
            m.outputs = model.predict(features)

    When the model raises, the prediction is logged with
    ``event.outcome: failure`` and ``error.type``/``error.message``, and the
    exception is re-raised unchanged. Works on ``async def`` functions too.

    Args:
        target: A logger, a ``LoggerAdapter`` or a ``PredictionHandler``.
        inputs: The inputs (context manager use).
        inputs_arg: Name of the argument holding the inputs (decorator use).
        outputs: For the decorator, a function mapping the return value to
            the outputs; for the context manager, the outputs themselves.
        prediction_id, labels, model, model_version, feature_names, level:
            As in :func:`log_prediction`.
    """

    def __init__(
        self,
        target: Target,
        *,
        inputs: Any = None,
        inputs_arg: str | None = None,
        outputs: Any = None,
        prediction_id: Any = None,
        labels: Mapping[Any, object] | None = None,
        model: str | None = None,
        model_version: str | None = None,
        feature_names: Sequence[object] | None = None,
        level: int = logging.INFO,
    ) -> None:
        self.target = target
        self.inputs = inputs
        self.inputs_arg = inputs_arg
        self.outputs = outputs
        self.prediction_id = prediction_id
        self.labels = labels
        self.model = model
        self.model_version = model_version
        self.feature_names = feature_names
        self.level = level
        self._started = 0

    # -- context manager -------------------------------------------------------------

    def __enter__(self) -> monitored:
        self._started = time.perf_counter_ns()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        latency_ms = (time.perf_counter_ns() - self._started) / 1e6
        self._log(self.inputs, None if exc is not None else self.outputs, latency_ms, exc, 2)

    # -- decorator ---------------------------------------------------------------------

    def __call__(self, function: Callable[P, R]) -> Callable[P, R]:
        """Wrap ``function``: each call is timed and logged as one prediction."""
        position, name = _inputs_parameter(function, self.inputs_arg)
        extract = self.outputs if callable(self.outputs) else None

        def inputs_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if name is not None and name in kwargs:
                return kwargs[name]
            return args[position] if position is not None and position < len(args) else None

        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                started = time.perf_counter_ns()
                try:
                    result = await function(*args, **kwargs)
                except BaseException as exc:
                    self._log(inputs_of(args, kwargs), None, _since(started), exc, 2)
                    raise
                outputs = self._outputs_of(extract, result)
                self._log(inputs_of(args, kwargs), outputs, _since(started), None, 2)
                return result

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            started = time.perf_counter_ns()
            try:
                result = function(*args, **kwargs)
            except BaseException as exc:
                self._log(inputs_of(args, kwargs), None, _since(started), exc, 2)
                raise
            outputs = self._outputs_of(extract, result)
            self._log(inputs_of(args, kwargs), outputs, _since(started), None, 2)
            return result

        return wrapper

    @staticmethod
    def _outputs_of(extract: Callable[[Any], Any] | None, result: Any) -> Any:
        if extract is None:
            return result
        try:
            return extract(result)
        except Exception as exc:
            _diagnostics.warning("outputs", "the outputs function raised %r", exc)
            return None

    def _log(
        self,
        inputs: Any,
        outputs: Any,
        latency_ms: float,
        exc: BaseException | None,
        stacklevel: int,
    ) -> None:
        log_prediction(
            self.target,
            inputs=inputs,
            outputs=outputs,
            latency_ms=latency_ms,
            prediction_id=self.prediction_id,
            labels=self.labels,
            error=exc,
            model=self.model,
            model_version=self.model_version,
            feature_names=self.feature_names,
            level=self.level,
            stacklevel=stacklevel + 1,
        )


def _caller(depth: int) -> tuple[str, int, str]:
    """File, line and function ``depth`` frames up, like ``Logger.findCaller`` but O(1)."""
    try:
        frame = sys._getframe(depth + 1)
    except ValueError:  # not that many frames (e.g. a coroutine resumed by an event loop)
        return "(unknown file)", 0, "(unknown function)"
    return frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name


def _since(started: int) -> float:
    return (time.perf_counter_ns() - started) / 1e6


def _inputs_parameter(
    function: Callable[..., Any], name: str | None
) -> tuple[int | None, str | None]:
    """Position and name of the parameter holding the inputs."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature: first argument
        return (0, None) if name is None else (None, name)
    positional = [
        p
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if name is not None:
        for index, parameter in enumerate(positional):
            if parameter.name == name:
                return index, name
        return None, name
    for index, parameter in enumerate(positional):
        if parameter.name not in ("self", "cls"):
            return index, parameter.name
    return None, None
