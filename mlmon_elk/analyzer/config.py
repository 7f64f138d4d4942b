"""The analyzer's YAML configuration → frozen dataclasses, validated eagerly.

One file says where predictions come from (Elasticsearch or JSON-lines files),
when windows are analysed, and which models with which baselines and
thresholds. Every mistake is reported with the exact key and what was
expected, e.g. ``models[2].latency_sla_ms.95: expected a positive number, got
'fast'``. Secrets never appear here: the file names the *environment
variables* holding them. ``docs/configuration.md`` lists every key.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from pathlib import Path
from typing import Any, Union

from mlmon_elk.checks.settings import CheckSettings
from mlmon_elk.contract import DEFAULT_NAMESPACE, validate_namespace
from mlmon_elk.engine.client import DEFAULT_MAX_BUCKETS, DISTRIBUTIONS, EsConnection
from mlmon_elk.errors import ConfigError
from mlmon_elk.profile.defaults import DEFAULT_SAMPLE_ROWS, EXAMPLES
from mlmon_elk.retry import Retry
from mlmon_elk.sinks.unsent import DEFAULT_NAME as UNSENT_RUNS
from mlmon_elk.sources.files import DEFAULT_CHUNK_ROWS
from mlmon_elk.windows import Schedule, format_duration, parse_duration
from mlmon_elk.yaml_files import read_yaml_mapping


@dataclass(frozen=True, slots=True)
class ElasticsearchConfig:
    """Where the predictions are and the results go: an Elasticsearch cluster."""

    connection: EsConnection = field(default_factory=EsConnection)
    max_buckets: int = DEFAULT_MAX_BUCKETS
    """The cluster's ``search.max_buckets``; larger plans are split into ``_msearch``."""
    max_versions: int = 10
    """Most model versions counted per window on the default baseline."""
    sample_rows: int = DEFAULT_SAMPLE_ROWS
    """Above this many predictions of a version in a window, its features are
    counted on a random sample of about this many; 0 counts every one."""
    retry: Retry = field(default_factory=Retry)
    unsent_runs: Path | None = None
    """Where run summaries that could not be written wait for the next run
    (default: ``mlmon-unsent-runs.jsonl`` next to the configuration file)."""


@dataclass(frozen=True, slots=True)
class FilesConfig:
    """The embedded mode: predictions from JSON-lines files, results to JSON lines."""

    predictions: tuple[str, ...]
    """Files or globs of prediction logs (rotated and gzipped files included)."""
    output: Path = Path("mlmon-results")
    """Directory of ``checks.jsonl``, ``alerts.jsonl`` and ``runs.jsonl``."""
    chunk_rows: int = DEFAULT_CHUNK_ROWS


@dataclass(frozen=True, slots=True)
class AnalysisConfig:
    """How windows are counted and alerts followed."""

    history: int = 12
    """Preceding windows counted for the ``volume`` check."""
    examples: int = EXAMPLES
    """Unseen values / OOV tokens kept as examples per feature."""
    new_features: int = 100
    """Input names beyond the baseline's that are counted per window."""
    alert_lookback: timedelta = timedelta(days=7)
    """How far back an open alert is looked for."""
    percentiles: tuple[float, ...] = (50.0, 95.0, 99.0)
    """Latency percentiles always fetched (SLA percentiles are added)."""


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """One monitored model."""

    name: str
    baselines: tuple[tuple[str | None, Path], ...]
    """``(version, path)`` pairs; ``None`` means "the version written in the file"."""
    default_version: str | None = None
    """Baseline for versions without their own; default: the last one listed."""
    settings: CheckSettings = field(default_factory=CheckSettings)


DEFAULT_MISFIRE_GRACE = timedelta(minutes=5)
DEFAULT_CATCH_UP = timedelta(days=1)
DEFAULT_REEVALUATE_WITHIN = timedelta(days=14)
DEFAULT_REEVALUATE_PER_TICK = 24


@dataclass(frozen=True, slots=True)
class Config:
    """The whole analyzer configuration."""

    models: tuple[ModelConfig, ...]
    namespace: str = DEFAULT_NAMESPACE
    elasticsearch: ElasticsearchConfig | None = None
    files: FilesConfig | None = None
    schedule: Schedule = field(default_factory=Schedule)
    misfire_grace: timedelta = DEFAULT_MISFIRE_GRACE
    """How late a scheduled run may still start (``serve``)."""
    catch_up: timedelta = DEFAULT_CATCH_UP
    """How far back ``serve`` analyses windows it missed (stopped, or a run overran)."""
    reevaluate_within: timedelta = DEFAULT_REEVALUATE_WITHIN
    """How far back ``serve`` re-evaluates ``performance`` when late outcomes arrive (0: never)."""
    reevaluate_per_tick: int = DEFAULT_REEVALUATE_PER_TICK
    """At most this many past windows re-evaluated per tick; the rest wait for the next ones."""
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    path: Path | None = None
    """The file this came from (relative paths in it are resolved against its directory)."""

    @property
    def model_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.models)


# --------------------------------------------------------------------- loading


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML configuration file.

    Raises:
        ConfigError: the file is missing, not YAML, or a key is wrong (named in the message).
    """
    p = Path(path)
    data = read_yaml_mapping(p, what="config", error=ConfigError)
    return config_from_dict(data, base=p.resolve().parent, path=p)


def config_from_dict(data: object, *, base: Path | None = None, path: Path | None = None) -> Config:
    """Validate a parsed YAML mapping into a :class:`Config`.

    Relative file paths are resolved against ``base`` (the config file's directory).

    Raises:
        ConfigError: naming the exact key that is wrong and what was expected.
    """
    base = base or Path.cwd()
    r = _Node(data, "")
    r.only(
        "namespace",
        "elasticsearch",
        "files",
        "schedule",
        "analysis",
        "checks",
        "models",
    )
    namespace = r.get("namespace", DEFAULT_NAMESPACE, _text)
    try:
        validate_namespace(namespace)
    except ValueError as exc:
        msg = f"namespace: {exc}"
        raise ConfigError(msg) from None
    es = _elasticsearch(r.child("elasticsearch"), base, path) if "elasticsearch" in r else None
    files = _files(r.child("files"), base) if "files" in r else None
    if es is None and files is None:
        msg = "config: set either 'elasticsearch:' (hosts…) or 'files:' (predictions…)"
        raise ConfigError(msg)
    if es is not None and files is not None:
        msg = "config: 'elasticsearch' and 'files' are alternatives; keep one"
        raise ConfigError(msg)
    schedule, grace, catch_up = (
        _schedule(r.child("schedule")) if "schedule" in r else (Schedule(), None, None)
    )
    within, per_tick = (
        _reevaluation(r.child("schedule"))
        if "schedule" in r
        else (DEFAULT_REEVALUATE_WITHIN, DEFAULT_REEVALUATE_PER_TICK)
    )
    shared_checks = r.child("checks") if "checks" in r else None
    models = tuple(_model(item, base, shared_checks) for item in r.items("models", required=True))
    names = [m.name for m in models]
    for name in names:
        if names.count(name) > 1:
            msg = f"models: model {name!r} is listed twice"
            raise ConfigError(msg)
    return Config(
        models=models,
        namespace=namespace,
        elasticsearch=es,
        files=files,
        schedule=schedule,
        misfire_grace=grace if grace is not None else DEFAULT_MISFIRE_GRACE,
        catch_up=catch_up if catch_up is not None else DEFAULT_CATCH_UP,
        reevaluate_within=within,
        reevaluate_per_tick=per_tick,
        analysis=_analysis(r.child("analysis")) if "analysis" in r else AnalysisConfig(),
        path=path,
    )


def _elasticsearch(r: _Node, base: Path, path: Path | None) -> ElasticsearchConfig:
    r.only(
        "hosts",
        "api_key_env",
        "username_env",
        "password_env",
        "ca_certs",
        "verify_certs",
        "request_timeout",
        "distribution",
        "max_buckets",
        "max_versions",
        "sample_rows",
        "retry",
        "unsent_runs",
    )
    defaults = EsConnection()
    hosts = r.get("hosts", list(defaults.hosts), _hosts)
    ca = r.get("ca_certs", None, _optional(_text))
    if ca is not None:
        ca_path = _resolve(base, ca)
        if not ca_path.is_file():
            msg = f"{r.key('ca_certs')}: no such file {str(ca_path)!r}"
            raise ConfigError(msg)
        ca = str(ca_path)
    connection = EsConnection(
        hosts=tuple(hosts),
        api_key_env=r.get("api_key_env", defaults.api_key_env, _env_name),
        username_env=r.get("username_env", defaults.username_env, _env_name),
        password_env=r.get("password_env", defaults.password_env, _env_name),
        ca_certs=ca,
        verify_certs=r.get("verify_certs", True, _boolean),
        request_timeout=r.get("request_timeout", defaults.request_timeout, _seconds(positive=True)),
        distribution=r.get("distribution", defaults.distribution, _choice(DISTRIBUTIONS)),
    )
    retry = Retry()
    if "retry" in r:
        rr = r.child("retry")
        rr.only("attempts", "initial", "maximum")
        retry = Retry(
            attempts=rr.get("attempts", retry.attempts, _integer(minimum=1)),
            initial=rr.get("initial", retry.initial, _seconds(positive=False)),
            maximum=rr.get("maximum", retry.maximum, _seconds(positive=False)),
        )
    # Next to the config file by default; a config built in memory keeps them in memory.
    unsent = r.get("unsent_runs", None, _optional(_text))
    return ElasticsearchConfig(
        connection=connection,
        max_buckets=r.get("max_buckets", DEFAULT_MAX_BUCKETS, _integer(minimum=100)),
        max_versions=r.get("max_versions", 10, _integer(minimum=1)),
        sample_rows=r.get("sample_rows", DEFAULT_SAMPLE_ROWS, _integer(minimum=0)),
        retry=retry,
        unsent_runs=_resolve(base, unsent)
        if unsent
        else (path.resolve().parent / UNSENT_RUNS if path else None),
    )


def _files(r: _Node, base: Path) -> FilesConfig:
    r.only("predictions", "output", "chunk_rows")
    predictions = r.get("predictions", _REQUIRED, _text_list)
    if not predictions:
        msg = f"{r.key('predictions')}: expected at least one file or glob"
        raise ConfigError(msg)
    return FilesConfig(
        predictions=tuple(str(_resolve(base, p)) for p in predictions),
        output=_resolve(base, r.get("output", "mlmon-results", _text)),
        chunk_rows=r.get("chunk_rows", DEFAULT_CHUNK_ROWS, _integer(minimum=1)),
    )


def _schedule(r: _Node) -> tuple[Schedule, timedelta | None, timedelta | None]:
    r.only(
        "interval",
        "window",
        "delay",
        "misfire_grace",
        "catch_up",
        "reevaluate_within",
        "reevaluate_per_tick",
    )
    defaults = Schedule()
    interval = r.get("interval", defaults.interval, _duration(positive=True))
    window = r.get("window", interval, _duration(positive=True))
    delay = r.get("delay", defaults.delay, _duration(positive=False))
    grace = r.get("misfire_grace", None, _optional(_duration(positive=True)))
    catch_up = r.get("catch_up", None, _optional(_duration(positive=False)))
    return Schedule(interval=interval, window=window, delay=delay), grace, catch_up


def _reevaluation(r: _Node) -> tuple[timedelta, int]:
    within = r.get("reevaluate_within", DEFAULT_REEVALUATE_WITHIN, _duration(positive=False))
    per_tick = r.get("reevaluate_per_tick", DEFAULT_REEVALUATE_PER_TICK, _integer(minimum=1))
    return within, per_tick


def _analysis(r: _Node) -> AnalysisConfig:
    r.only("history", "examples", "new_features", "alert_lookback", "percentiles")
    d = AnalysisConfig()
    return AnalysisConfig(
        history=r.get("history", d.history, _integer(minimum=0)),
        examples=r.get("examples", d.examples, _integer(minimum=0)),
        new_features=r.get("new_features", d.new_features, _integer(minimum=0)),
        alert_lookback=r.get("alert_lookback", d.alert_lookback, _duration(positive=True)),
        percentiles=tuple(r.get("percentiles", list(d.percentiles), _percentile_list)),
    )


_MODEL_SHORTCUTS = ("expected_versions", "latency_sla_ms", "max_error_rate")
"""CheckSettings fields also accepted directly on a model entry."""


def _model(r: _Node, base: Path, shared_checks: _Node | None) -> ModelConfig:
    r.only("name", "baselines", "default_version", "checks", *_MODEL_SHORTCUTS)
    name = r.get("name", _REQUIRED, _text)
    raw = r.raw("baselines")
    baselines: list[tuple[str | None, Path]] = []
    if isinstance(raw, Mapping):
        b = r.child("baselines")
        baselines.extend(
            (str(version), _resolve(base, b.get(version, _REQUIRED, _text))) for version in raw
        )
    elif isinstance(raw, list):
        for i, item in enumerate(raw):
            baselines.append((None, _resolve(base, _text(item, r.key(f"baselines[{i}]")))))
    elif isinstance(raw, str):
        baselines.append((None, _resolve(base, raw)))
    else:
        msg = (
            f"{r.key('baselines')}: expected a mapping of version to baseline file,"
            f" or a list of baseline files, got {raw!r}"
        )
        raise ConfigError(msg)
    if not baselines:
        msg = f"{r.key('baselines')}: at least one baseline is needed"
        raise ConfigError(msg)
    default_version = r.get("default_version", None, _optional(_text))
    versions = [v for v, _ in baselines if v is not None]
    if (
        default_version is not None
        and len(versions) == len(baselines)
        and default_version not in versions
    ):
        msg = (
            f"{r.key('default_version')}: {default_version!r} is not one of the"
            f" baseline versions {versions}"
        )
        raise ConfigError(msg)
    overrides: dict[str, Any] = {}
    if shared_checks is not None:
        overrides.update(check_overrides(shared_checks))
    if "checks" in r:
        overrides.update(check_overrides(r.child("checks")))
    for shortcut in _MODEL_SHORTCUTS:
        if shortcut in r:
            if "checks" in r and shortcut in r.child("checks"):
                msg = f"{r.key(shortcut)}: also set under {r.key('checks')}; keep one"
                raise ConfigError(msg)
            overrides[shortcut] = _check_value(shortcut, r.raw(shortcut), r.key(shortcut))
    try:
        settings = CheckSettings(**overrides)
    except (TypeError, ValueError) as exc:
        msg = f"{r.key('checks')}: {exc}"
        raise ConfigError(msg) from exc
    return ModelConfig(
        name=name, baselines=tuple(baselines), default_version=default_version, settings=settings
    )


# ------------------------------------------------------- check settings by field


def check_overrides(r: _Node) -> dict[str, Any]:
    """Validated ``CheckSettings`` field values of a ``checks:`` mapping.

    Keys are the field names of :class:`~mlmon_elk.checks.settings.CheckSettings`,
    and values are checked against the field's type, so any field added there
    is configurable without touching this module.
    """
    hints = _check_hints()
    r.only(*hints)
    return {name: _check_value(name, r.raw(name), r.key(name)) for name in r}


def _check_hints() -> dict[str, Any]:
    return {
        f.name: typing.get_type_hints(CheckSettings)[f.name]
        for f in dataclasses.fields(CheckSettings)
    }


# Extra constraints for known fields; other fields are checked by their type only.
_POSITIVE = ("latency_sla_ms", "critical_factor")
_PROBABILITY = ("family_alpha", "break_alpha", "max_error_rate", "min_volume_ratio")


def _check_value(name: str, value: object, where: str) -> Any:
    hint = _check_hints()[name]
    converted = _convert(hint, value, where, positive=name in _POSITIVE)
    if name in _PROBABILITY and not 0 <= converted <= 1:
        msg = f"{where}: expected a number between 0 and 1, got {value!r}"
        raise ConfigError(msg)
    if name == "latency_sla_ms":
        for percentile in converted:
            if not 0 < percentile < 100:
                msg = f"{where}.{percentile:g}: expected a percentile between 0 and 100"
                raise ConfigError(msg)
    return converted


def _convert(hint: Any, value: object, where: str, *, positive: bool = False) -> Any:
    """``value`` converted to the type ``hint`` (a dataclass field type), or a ConfigError."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = (a for a in args if a is not type(None))
        return _convert(inner, value, where, positive=positive)
    if origin in (frozenset, set, tuple, list, Sequence) or hint in (frozenset, tuple):
        items = value if isinstance(value, list) else None
        if items is None:
            msg = f"{where}: expected a list, got {value!r}"
            raise ConfigError(msg)
        inner = args[0] if args else str
        converted = [_convert(inner, v, f"{where}[{i}]") for i, v in enumerate(items)]
        return frozenset(converted) if origin in (frozenset, set) else tuple(converted)
    if origin in (Mapping, dict) or hint is dict:
        if not isinstance(value, Mapping):
            msg = f"{where}: expected a mapping, got {value!r}"
            raise ConfigError(msg)
        key_type, value_type = args or (str, Any)
        return {
            _convert(key_type, k, f"{where}.{k}"): _convert(
                value_type, v, f"{where}.{k}", positive=positive
            )
            for k, v in value.items()
        }
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(value)
        except ValueError:
            choices = ", ".join(str(m.value) for m in hint)
            msg = f"{where}: expected one of {choices}, got {value!r}"
            raise ConfigError(msg) from None
    if hint is bool:
        return _boolean(value, where)
    if hint is int:
        return _integer(minimum=1 if positive else 0)(value, where)
    if hint is float:
        return _number(positive=positive)(value, where)
    if hint is str:
        return _text(value, where)
    if hint is timedelta:
        return _duration(positive=positive)(value, where)
    return value  # Any, or a type without a YAML spelling: passed through


# ------------------------------------------------------------ value converters


def _text(value: object, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or value == "":
        msg = f"{where}: expected a non-empty string, got {value!r}"
        raise ConfigError(msg)
    return str(value)


def _text_list(value: object, where: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        msg = f"{where}: expected a list of strings, got {value!r}"
        raise ConfigError(msg)
    return [_text(v, f"{where}[{i}]") for i, v in enumerate(items)]


def _hosts(value: object, where: str) -> list[str]:
    hosts = _text_list(value, where)
    for i, host in enumerate(hosts):
        if not host.startswith(("http://", "https://")):
            msg = f"{where}[{i}]: expected a URL starting with http:// or https://, got {host!r}"
            raise ConfigError(msg)
    if not hosts:
        msg = f"{where}: expected at least one URL"
        raise ConfigError(msg)
    return hosts


def _env_name(value: object, where: str) -> str:
    name = _text(value, where)
    if not name.replace("_", "").isalnum() or name[0].isdigit():
        msg = (
            f"{where}: expected the NAME of an environment variable (secrets never go"
            f" in the config), got {value!r}"
        )
        raise ConfigError(msg)
    return name


def _choice(choices: Sequence[str]) -> Callable[[object, str], Any]:
    def convert(value: object, where: str) -> str:
        if value not in choices:
            msg = f"{where}: expected one of {', '.join(choices)}, got {value!r}"
            raise ConfigError(msg)
        return str(value)

    return convert


def _boolean(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        msg = f"{where}: expected true or false, got {value!r}"
        raise ConfigError(msg)
    return value


def _integer(*, minimum: int) -> Callable[[object, str], int]:
    def convert(value: object, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            what = "a positive integer" if minimum == 1 else f"an integer ≥ {minimum}"
            msg = f"{where}: expected {what}, got {value!r}"
            raise ConfigError(msg)
        return value

    return convert


def _number(*, positive: bool) -> Callable[[object, str], float]:
    def convert(value: object, where: str) -> float:
        number: float | None = None
        if not isinstance(value, bool) and isinstance(value, (int, float)):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                number = None
        if number is None or not math.isfinite(number) or (positive and number <= 0):
            what = "a positive number" if positive else "a number"
            msg = f"{where}: expected {what}, got {value!r}"
            raise ConfigError(msg)
        return number

    return convert


def _percentile_list(value: object, where: str) -> list[float]:
    if not isinstance(value, list) or not value:
        msg = f"{where}: expected a list of percentiles such as [50, 95, 99], got {value!r}"
        raise ConfigError(msg)
    out = []
    for i, v in enumerate(value):
        p = _number(positive=True)(v, f"{where}[{i}]")
        if p >= 100:
            msg = f"{where}[{i}]: expected a percentile between 0 and 100, got {v!r}"
            raise ConfigError(msg)
        out.append(p)
    return out


def _duration(*, positive: bool) -> Callable[[object, str], timedelta]:
    def convert(value: object, where: str) -> timedelta:
        try:
            delta = parse_duration(value)
        except ValueError as exc:
            msg = f"{where}: {exc}"
            raise ConfigError(msg) from None
        if positive and delta <= timedelta(0):
            msg = f"{where}: expected a positive duration, got {value!r}"
            raise ConfigError(msg)
        return delta

    return convert


def _seconds(*, positive: bool) -> Callable[[object, str], float]:
    duration = _duration(positive=positive)

    def convert(value: object, where: str) -> float:
        return duration(value, where).total_seconds()

    return convert


def _optional(convert: Callable[[object, str], Any]) -> Callable[[object, str], Any]:
    def maybe(value: object, where: str) -> Any:
        return None if value is None else convert(value, where)

    return maybe


def _resolve(base: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


_REQUIRED: Any = object()


class _Node:
    """One YAML mapping with its dotted location, for precise error messages."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, Mapping):
            msg = f"{where or 'config'}: expected a mapping, got {data!r}"
            raise ConfigError(msg)
        self.data = data
        self.where = where

    def key(self, name: object) -> str:
        return f"{self.where}.{name}" if self.where else str(name)

    def __contains__(self, name: object) -> bool:
        return name in self.data

    def __iter__(self) -> typing.Iterator[str]:
        return iter(str(k) for k in self.data)

    def only(self, *allowed: str) -> None:
        for name in self.data:
            if name not in allowed:
                close = difflib.get_close_matches(str(name), allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                msg = f"{self.key(name)}: unknown key{hint} (known: {', '.join(allowed)})"
                raise ConfigError(msg)

    def raw(self, name: object) -> object:
        return self.data.get(name)

    def get(self, name: object, default: Any, convert: Callable[[object, str], Any]) -> Any:
        if name not in self.data:
            if default is _REQUIRED:
                msg = f"{self.key(name)}: missing"
                raise ConfigError(msg)
            return default
        return convert(self.data[name], self.key(name))

    def child(self, name: str) -> _Node:
        return _Node(self.data.get(name), self.key(name))

    def items(self, name: str, *, required: bool = False) -> list[_Node]:
        value = self.data.get(name)
        if value is None and not required:
            return []
        if not isinstance(value, list) or (required and not value):
            msg = f"{self.key(name)}: expected a non-empty list, got {value!r}"
            raise ConfigError(msg)
        return [_Node(item, f"{self.key(name)}[{i}]") for i, item in enumerate(value)]


def describe(config: Config) -> str:
    """A short human summary of ``config`` (for ``serve`` start-up logs)."""
    source = (
        f"Elasticsearch {', '.join(config.elasticsearch.connection.hosts)}"
        if config.elasticsearch
        else f"files {', '.join(config.files.predictions) if config.files else ''}"
    )
    s = config.schedule
    return (
        f"{len(config.models)} models from {source}, namespace {config.namespace!r};"
        f" every {format_duration(s.interval)}, windows of {format_duration(s.window)},"
        f" {format_duration(s.delay)} settle delay"
    )
