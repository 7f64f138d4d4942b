"""``PredictionHandler``: ships prediction documents without ever hurting the serving app.

In the caller's thread the handler only builds the document and serialises it
(so the values are taken as they are at call time) and appends the bytes to
a bounded queue; everything else — connecting, sending, retrying, spooling,
rotating files — happens on the handler's own sender thread
(:mod:`mlmon_elk.producer.sender`). No exception from the handler reaches the caller.

Only records made by :func:`mlmon_elk.log_prediction` become documents;
the handler ignores every other record, and refuses outright records of
``mlmon_elk`` itself, ``elasticsearch``, ``elastic_transport`` and
``urllib3`` — so it never logs into itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import threading
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from mlmon_elk.errors import ConfigError
from mlmon_elk.producer.call import PREDICTION_ATTR, CallError, PredictionCall
from mlmon_elk.producer.diagnostics import Diagnostics
from mlmon_elk.producer.encoding import encode_line
from mlmon_elk.producer.formatter import Encoded, PredictionFormatter
from mlmon_elk.producer.options import handler_options
from mlmon_elk.producer.outcomes import OUTCOME_ATTR, OutcomeCall, outcome_document
from mlmon_elk.producer.sender import AUTO, DeliveryOptions, Sender, ShipperCounters
from mlmon_elk.producer.settings import DocumentSettings
from mlmon_elk.producer.spool import DiskSpool, MemorySpool, Spool
from mlmon_elk.producer.transports import (
    DEFAULT_URL,
    Destination,
    parse_url,
    tls_context,
    transport_factory,
)

REFUSED_LOGGERS: Final = ("mlmon_elk", "elasticsearch", "elastic_transport", "urllib3")
"""Records from these loggers (and their children) never reach the handler."""


def default_spool_dir(url: str) -> Path:
    """Where ``spool_dir="auto"`` keeps the spool of ``url`` (per user, per destination)."""
    user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"mlmon-elk-{user}" / f"spool-{digest}"


class PredictionHandler(logging.Handler):
    """A logging handler that ships one JSON document per prediction.

    Attach it to a logger and log with :func:`mlmon_elk.log_prediction`, or
    call :meth:`log_prediction` on the handler directly (the cheapest path).

    Args:
        url: Destination: ``tcp://host:port`` (Logstash ``tcp`` input,
            ``json_lines``), ``tls://host:port`` (the same over TLS),
            ``http(s)://host:port/path`` (Logstash ``http`` input),
            ``elasticsearch+https://host:9200`` (``_bulk`` into the prediction
            data stream, no Logstash; also ``elasticsearch+http://``),
            ``file://path`` (rotating JSON-lines files; the default is
            ``file://mlmon-logs/predictions.jsonl``) or ``stdout``.
        level: Handler level.
        **options: Flat keywords, each a field of one of the option groups
            (see :mod:`mlmon_elk.producer.options`):
            :class:`~mlmon_elk.producer.settings.DocumentOptions` (``model`` —
            required —, ``model_version``, ``service``, ``labels``,
            ``text_inputs``, ``privacy``, ``max_document_bytes``…),
            :class:`~mlmon_elk.producer.sender.DeliveryOptions` (``queue_size``,
            ``batch_bytes``, ``close_timeout``, ``backoff_*``, ``spool_dir``,
            ``spool_max_bytes``, ``spool_full``…) and
            :class:`~mlmon_elk.producer.transports.TransportOptions`
            (``connect_timeout``, ``ca_certs``, ``verify_certs``, ``*_env``,
            ``file_max_bytes``…). Each field documents its option and default.

    Raises:
        ConfigError: An option is unknown or invalid (the message names it).
    """

    def __init__(
        self, url: str = DEFAULT_URL, *, level: int | str = logging.NOTSET, **options: Any
    ) -> None:
        super().__init__(level)
        grouped = handler_options(options)
        self.url = url
        self.destination: Destination = parse_url(url)
        self.formatter: PredictionFormatter = PredictionFormatter(options=grouped.document)
        if self.destination.uses_tls:
            tls_context(grouped.transport)  # fail now on unreadable CA or key files
        self.delivery: DeliveryOptions = grouped.delivery
        self.spool_dir: Path | None = self._spool_dir(grouped.delivery.spool_dir)
        self.diagnostics = Diagnostics()
        self._sender = Sender(
            transport_factory(self.destination, grouped.transport),
            self._open_spool,
            grouped.delivery,
            shipper_document=self._shipper_document,
            diagnostics=self.diagnostics,
        )
        self._sender.start()
        _LIVE_HANDLERS.add(self)

    # -- configuration -----------------------------------------------------------------

    def _spool_dir(self, spool_dir: str | os.PathLike[str] | None) -> Path | None:
        if spool_dir is None:
            return None
        if isinstance(spool_dir, str) and spool_dir == AUTO:
            return default_spool_dir(self.url) if self.destination.is_network else None
        return Path(spool_dir)

    def _open_spool(self) -> Spool:
        delivery = self.delivery
        if self.spool_dir is None:
            return MemorySpool(max_bytes=delivery.spool_max_bytes, policy=delivery.spool_full)
        spool = DiskSpool(
            self.spool_dir,
            max_bytes=delivery.spool_max_bytes,
            segment_bytes=delivery.spool_segment_bytes,
            policy=delivery.spool_full,
        )
        spool.open()
        return spool

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        """Use another :class:`PredictionFormatter` (e.g. from ``dictConfig``).

        Raises:
            ConfigError: ``fmt`` is not a ``PredictionFormatter``: this handler
                writes the contract document and nothing else.
        """
        if not isinstance(fmt, PredictionFormatter):
            msg = (
                f"PredictionHandler writes prediction documents; its formatter must be a"
                f" PredictionFormatter, not {type(fmt).__name__}"
            )
            raise ConfigError(msg)
        self.formatter = fmt

    @property
    def settings(self) -> DocumentSettings:
        """The settings every document is built with."""
        return self.formatter.settings

    # -- logging -------------------------------------------------------------------------

    def handle(self, record: logging.LogRecord) -> bool:
        """Filter and emit without taking the handler lock: emitting is thread-safe."""
        if record.name.startswith(REFUSED_LOGGERS) or (
            threading.get_ident() == self._sender.thread_ident
        ):
            return False
        if self.filters and not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the documents of a prediction record; ignore any other record."""
        call = record.__dict__.get(PREDICTION_ATTR)
        if not isinstance(call, PredictionCall):
            outcome = record.__dict__.get(OUTCOME_ATTR)
            if isinstance(outcome, OutcomeCall):
                self.log_outcome_call(outcome)
            return
        try:
            self._submit(self.formatter.encode(call, record.created))
        except Exception as exc:
            self._dropped_call(exc)

    def log_prediction(
        self,
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
    ) -> None:
        """Log one prediction (or a batch) directly, without a ``LogRecord``.

        The cheapest way to log: the same document as
        :func:`mlmon_elk.log_prediction`, minus the cost of the logging
        machinery. Never raises.

        Args:
            inputs: Mapping of input name → value, or a batch (DataFrame, list
                of mappings, 2-D array with ``feature_names``).
            outputs: Mapping of output name → value, a bare value, or one per row.
            latency_ms: Model latency in milliseconds.
            prediction_id: The caller's request id (generated when ``None``).
            labels: Flat segments for this prediction.
            timestamp: When it happened: epoch seconds, a datetime or an ISO-8601
                string (naive means UTC); one per row for a batch if you like; default now.
            error: The exception the model raised (``event.outcome: failure``).
            outcome: ``success``, ``failure`` or ``unknown``.
            model: Model name for this call instead of the handler's.
            model_version: Model version for this call instead of the handler's.
            feature_names: Column names of a 2-D array batch.
        """
        try:
            formatter = self.formatter
            if (
                type(inputs) is dict  # one row, the usual call: formatter.encode's fast path,
                and not labels  # inlined, and without a PredictionCall unless it declines
                and error is None
                and model is None
                and model_version is None
            ):
                data = formatter.builder.usual_line(
                    inputs, outputs, latency_ms, prediction_id, timestamp, outcome
                )
                if data is not None:
                    if len(data) <= formatter.max_document_bytes:
                        self._sender.submit(data)
                    else:
                        self._submit(Encoded(b"", 1, ()))  # counted as oversize, not rebuilt
                    return
            call = PredictionCall(
                inputs,
                outputs,
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
            self._submit(formatter.encode(call))
        except Exception as exc:
            self._dropped_call(exc)

    def _dropped_call(self, exc: Exception) -> None:
        """Count a call that made no document; the first of each reason is always reported."""
        if isinstance(exc, CallError):
            self._sender.error(f"call:{exc.argument}", "log_prediction dropped: %s", exc)
        else:
            key = f"call:{type(exc).__name__}"
            self._sender.error(key, "log_prediction dropped (internal error): %r", exc)

    def log_outcome_call(self, call: OutcomeCall) -> None:
        """Queue the outcome document of ``call`` (see :func:`mlmon_elk.log_outcome`).

        Never raises: a call without a prediction id or actual value is counted
        as an encode error.
        """
        try:
            data = encode_line(outcome_document(self.formatter.builder, call))
            self._submit(
                Encoded(data, 0, ())
                if len(data) <= self.formatter.max_document_bytes
                else Encoded(b"", 1, ())
            )
        except Exception as exc:
            self._sender.error("encode", "cannot build an outcome document: %r", exc)

    def _submit(self, encoded: Encoded) -> None:
        if encoded.data:
            self._sender.submit(encoded.data)
        if encoded.oversize:
            self._sender.drop(
                encoded.oversize,
                "oversize",
                "documents larger than max_document_bytes (%d) dropped",
                self.formatter.max_document_bytes,
            )
        for problem in encoded.problems:
            argument = problem.partition(":")[0]  # each argument's problems reported apart
            self._sender.error(
                f"batch:{argument}", "batch logged without mismatched values: %s", problem
            )

    def _shipper_document(self, counters: dict[str, int]) -> bytes:
        return encode_line(self.formatter.builder.shipper(counters))

    # -- delivery ------------------------------------------------------------------------

    def counters(self) -> ShipperCounters:
        """Delivery counters so far (logged, sent, spooled, replayed, dropped, errors…)."""
        return self._sender.counters()

    def flush(self) -> None:
        """Wait (at most ``close_timeout``) until everything logged so far was
        delivered or spooled; see :meth:`drain` for the outcome."""
        self.drain()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until everything logged so far was delivered or spooled.

        Args:
            timeout: Seconds to wait at most (default ``close_timeout``).

        Returns:
            True if it was, False on timeout.
        """
        sender: Sender | None = self.__dict__.get("_sender")
        if sender is None:  # the constructor failed: nothing was ever logged
            return True
        if timeout is None:
            timeout = sender.settings.close_timeout
        return sender.flush(timeout)

    def close(self) -> None:
        """Deliver or spool what is left (within ``close_timeout``) and stop.

        ``logging.shutdown()`` calls this at interpreter exit. Documents still
        undelivered stay in a disk spool for the next process, or are counted
        as dropped with a memory spool.
        """
        # logging.shutdown() also closes a handler whose constructor raised (it was
        # registered by logging.Handler.__init__ first): then there is no sender.
        sender: Sender | None = self.__dict__.get("_sender")
        if sender is not None:
            sender.close()
        _LIVE_HANDLERS.discard(self)
        super().close()

    def _after_fork_in_child(self) -> None:
        self.formatter.builder.new_id.reset()
        self._sender.after_fork_in_child()

    def __repr__(self) -> str:
        return f"<PredictionHandler {self.url} model={self.settings.model!r}>"


_LIVE_HANDLERS: weakref.WeakSet[PredictionHandler] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for handler in list(_LIVE_HANDLERS):
        with contextlib.suppress(Exception):
            handler._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
