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
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from mlmon_elk.contract import DEFAULT_NAMESPACE
from mlmon_elk.errors import ConfigError
from mlmon_elk.producer.diagnostics import Diagnostics
from mlmon_elk.producer.encoding import encode_line
from mlmon_elk.producer.events import (
    DEFAULT_MAX_TEXT_CHARS,
    PREDICTION_ATTR,
    CallError,
    DocumentSettings,
    PredictionCall,
    PrivacyRule,
)
from mlmon_elk.producer.formatter import DEFAULT_MAX_DOCUMENT_BYTES, Encoded, PredictionFormatter
from mlmon_elk.producer.outcomes import OUTCOME_ATTR, OutcomeCall, outcome_document
from mlmon_elk.producer.sender import Sender, SenderSettings, ShipperCounters
from mlmon_elk.producer.spool import DiskSpool, MemorySpool, Spool, SpoolPolicy, check_limits
from mlmon_elk.producer.transports import (
    DEFAULT_URL,
    Destination,
    TransportOptions,
    parse_url,
    tls_context,
    transport_factory,
)

REFUSED_LOGGERS: Final = ("mlmon_elk", "elasticsearch", "elastic_transport", "urllib3")
"""Records from these loggers (and their children) never reach the handler."""

AUTO: Final = "auto"
"""``spool_dir`` default: a disk spool for network destinations, memory otherwise."""

_MiB = 1024 * 1024


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
        model: Model name (``mlmon.model.name``).
        model_version: Model version (default ``"unknown"``).
        service: ``service.name`` of the serving app.
        service_version: ``service.version``.
        environment: ``service.environment``.
        namespace: Data stream namespace (default ``default``).
        labels: Static ``labels.*`` added to every document.
        text_inputs: Names of free-text inputs (tokenized); other strings are categories.
        privacy: Input name → ``"drop"``, ``"hash"`` or ``"truncate:<n>"``.
        hash_key_env: Environment variable holding the HMAC key for ``hash`` rules.
        empty_as_null: Treat empty strings as null values.
        max_text_chars: Characters of a text input kept in the document (default 1000).
        spool_dir: Directory of the on-disk spool; ``"auto"`` (default) uses a
            per-user directory under the system temporary directory for network
            destinations and memory for ``file://``/``stdout``; ``None`` keeps
            the spool in memory (lost on exit).
        spool_max_bytes: Size limit of the spool (default 256 MiB).
        spool_full: ``"drop_oldest"`` (default) or ``"drop_newest"``.
        queue_size: Log calls waiting in memory before new ones are dropped (default 50,000).
        batch_bytes: Bytes per send (default 4 MiB).
        flush_interval: Seconds an idle sender waits before looking again (default 0.2).
        close_timeout: Seconds ``close()`` may take (default 5).
        counters_interval: Seconds between shipper documents; 0 turns them off (default 60).
        backoff_initial: First retry delay in seconds (default 0.5), doubled per failure…
        backoff_max: …up to this (default 30), with jitter.
        max_document_bytes: Larger documents are dropped and counted (default 1 MiB).
        connect_timeout: Seconds to connect (default 2; the queue absorbs what is logged meanwhile).
        send_timeout: Seconds a send may block the sender thread (default 10).
        resend_window_bytes: TCP: bytes kept to resend after a broken connection (default 8 MiB).
        ca_certs: CA bundle for ``tls://`` and ``https://`` (default: the system's).
        verify_certs: Verify the server certificate and host name (default True).
        client_cert: Client certificate (PEM) for mutual TLS.
        client_key: Its private key (PEM).
        http_username_env: Environment variable with the HTTP basic-auth user.
        http_password_env: Environment variable with its password.
        api_key_env: ``elasticsearch+https://``: environment variable with the
            API key (default ``MLMON_ES_API_KEY``; wins over basic auth).
        file_max_bytes: ``file://``: rotate past this size (default 64 MiB).
        file_backups: ``file://``: rotated files kept (default 20; 0 keeps all).
        file_compress: ``file://``: gzip rotated files (default True).
        level: Handler level.

    Raises:
        ConfigError: An option is invalid (the message names it).
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        model: str,
        model_version: str | None = None,
        service: str | None = None,
        service_version: str | None = None,
        environment: str | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        labels: Mapping[str, object] | None = None,
        text_inputs: Iterable[str] = (),
        privacy: Mapping[str, str | PrivacyRule] | None = None,
        hash_key_env: str = "MLMON_HASH_KEY",
        empty_as_null: bool = False,
        max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
        spool_dir: str | os.PathLike[str] | None = AUTO,
        spool_max_bytes: int = 256 * _MiB,
        spool_full: SpoolPolicy = "drop_oldest",
        queue_size: int = 50_000,
        batch_bytes: int = 4 * _MiB,
        flush_interval: float = 0.2,
        close_timeout: float = 5.0,
        counters_interval: float = 60.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
        connect_timeout: float = 2.0,
        send_timeout: float = 10.0,
        resend_window_bytes: int = 8 * _MiB,
        ca_certs: str | None = None,
        verify_certs: bool = True,
        client_cert: str | None = None,
        client_key: str | None = None,
        http_username_env: str = "MLMON_HTTP_USERNAME",
        http_password_env: str = "MLMON_HTTP_PASSWORD",  # noqa: S107 - a variable's name
        api_key_env: str = "MLMON_ES_API_KEY",
        file_max_bytes: int = 64 * _MiB,
        file_backups: int = 20,
        file_compress: bool = True,
        level: int | str = logging.NOTSET,
    ) -> None:
        super().__init__(level)
        self.url = url
        self.destination: Destination = parse_url(url)
        self.formatter: PredictionFormatter = PredictionFormatter(
            model=model,
            model_version=model_version,
            service=service,
            service_version=service_version,
            environment=environment,
            namespace=namespace,
            labels=labels,
            text_inputs=text_inputs,
            privacy=privacy,
            hash_key_env=hash_key_env,
            empty_as_null=empty_as_null,
            max_text_chars=max_text_chars,
            max_document_bytes=max_document_bytes,
        )
        self._transport_options = TransportOptions(
            connect_timeout=connect_timeout,
            send_timeout=send_timeout,
            resend_window_bytes=resend_window_bytes,
            ca_certs=ca_certs,
            verify_certs=verify_certs,
            client_cert=client_cert,
            client_key=client_key,
            http_username_env=http_username_env,
            http_password_env=http_password_env,
            api_key_env=api_key_env,
            namespace=namespace,
            file_max_bytes=file_max_bytes,
            file_backups=file_backups,
            file_compress=file_compress,
        )
        if self.destination.uses_tls:
            tls_context(self._transport_options)  # fail now on unreadable CA or key files
        check_limits(spool_max_bytes, _segment_bytes(spool_max_bytes), spool_full)
        self.spool_dir: Path | None = self._spool_dir(spool_dir)
        self._spool_max_bytes = spool_max_bytes
        self._spool_full: SpoolPolicy = spool_full
        self.diagnostics = Diagnostics()
        self._sender = Sender(
            transport_factory(self.destination, self._transport_options),
            self._open_spool,
            SenderSettings(
                queue_size=queue_size,
                batch_bytes=batch_bytes,
                flush_interval=flush_interval,
                close_timeout=close_timeout,
                counters_interval=counters_interval,
                backoff_initial=backoff_initial,
                backoff_max=backoff_max,
            ),
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
        if self.spool_dir is None:
            return MemorySpool(max_bytes=self._spool_max_bytes, policy=self._spool_full)
        spool = DiskSpool(
            self.spool_dir,
            max_bytes=self._spool_max_bytes,
            segment_bytes=_segment_bytes(self._spool_max_bytes),
            policy=self._spool_full,
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
            # One row: formatter.encode's fast path, inlined to skip making a PredictionCall.
            if type(inputs) is dict:
                builder = formatter.builder
                # Positional arguments spelled out: a tuple and *args cost 1.5 % of the call.
                data = builder.prediction_line(
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
                )
                if data is None:  # a call the byte template does not cover: the same line
                    data = encode_line(
                        builder.prediction(
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
                        )
                    )
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


def _segment_bytes(spool_max_bytes: int) -> int:
    """Segments of 4 MiB, smaller for small spools (at least two segments fit)."""
    return max(min(4 * _MiB, spool_max_bytes // 8), 1)


_LIVE_HANDLERS: weakref.WeakSet[PredictionHandler] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for handler in list(_LIVE_HANDLERS):
        with contextlib.suppress(Exception):
            handler._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
