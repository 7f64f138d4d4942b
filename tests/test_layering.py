"""The package reads as its data flow, and imports run only down it.

producer → sources → profile → checks → results → sinks, on a foundation every
package may use, with the stack assets, the analyzer's wiring, the report, the
demo and the CLI at the edges. A module may import the foundation, modules of
its own package, and packages *earlier* in :data:`LAYERS`; never later ones.
Every ``import`` counts, wherever it sits: at the top, inside a function (a lazy
import is still a dependency), or under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import mlmon_elk

PACKAGE = Path(mlmon_elk.__file__).resolve().parent

FOUNDATION = (
    "mlmon_elk",
    "errors",
    "contract",
    "windows",
    "yaml_files",
    "json_lines",
    "retry",
    "background",
)
"""Modules at the top of the package that every layer may import. ``mlmon_elk``
is the root ``__init__``: importing any module runs it, so it must stay below all."""

LAYERS: tuple[tuple[str, ...], ...] = (
    FOUNDATION,
    ("engine",),  # the connection to Elasticsearch / OpenSearch
    ("producer",),  # the serving side: the handler and its transports
    ("sources",),  # predictions and outcomes read back, per window
    ("profile",),  # baselines, and the window counts compared with them
    ("checks",),  # the statistics comparing a window with its baseline
    ("results",),  # check results as documents, alerts, run summaries
    ("sinks",),  # where the results are written
    ("stack",),  # index templates, Kibana assets, their installation
    ("analyzer",),  # the run and its schedule, wiring sources → checks → sinks
    ("report",),  # the HTML report of written results
    ("demo",),  # the end-to-end demo
    ("cli",),  # the commands, over everything
)
"""Layers, lowest first: a layer may import itself and those before it."""

FACADE = frozenset(mlmon_elk._LAZY.values())
"""The root ``__init__`` names the public entry points (``PredictionHandler``,
``log_prediction``…) for type checkers and imports them on first use: it may
import exactly those modules, and only under ``TYPE_CHECKING``."""

SPEC_MAY_IMPORT = (
    "mlmon_elk.profile.baseline",
    "mlmon_elk.profile.counting",
    "mlmon_elk.profile.defaults",
    "mlmon_elk.profile.performance",
    "mlmon_elk.profile.values",
    "mlmon_elk.profile.window",
)
"""What a counting spec (``profile/counting/*``) may use beyond the foundation: the
shapes it counts into and the baseline it counts against — no reading, no checks."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    """Index in :data:`LAYERS` of a ``mlmon_elk`` module (by its top-level name)."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "mlmon_elk"
    for index, names in enumerate(LAYERS):
        if top in names:
            return index
    msg = f"{module} belongs to no layer: place {top!r} in LAYERS"
    raise AssertionError(msg)


def package_of(module: str) -> str:
    """The package a module belongs to (``checks``), or the module itself at the top."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and _is_package(module)) else module


def _is_package(module: str) -> bool:
    path = MODULES.get(module)
    return path is not None and path.name == "__init__.py"


def imports(module: str) -> Iterator[tuple[str, bool]]:
    """The ``mlmon_elk`` modules ``module`` imports, each with whether it is under
    ``if TYPE_CHECKING:``. ``from a import b`` names ``a.b`` when that is a module."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{module}: relative import (write the full name)"
            base = node.module or ""
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            if name == "mlmon_elk" or name.startswith("mlmon_elk."):
                yield name, id(node) in typing_only


def allowed(module: str, target: str, *, typing_only: bool = False) -> bool:
    """Whether ``module`` may import ``target`` (both ``mlmon_elk`` modules)."""
    if module == "mlmon_elk" and target in FACADE:
        return typing_only
    return package_of(module) == package_of(target) or layer_of(target) <= layer_of(module)


def violations() -> set[str]:
    """Every import against the flow, as ``module -> imported module``."""
    return {
        f"{module} -> {target}"
        for module in MODULES
        for target, typing_only in imports(module)
        if not allowed(module, target, typing_only=typing_only)
    }


def test_every_module_has_a_layer() -> None:
    """A new top-level module or package is placed in LAYERS before it is used."""
    for module in MODULES:
        layer_of(module)


def test_imports_run_down_the_flow() -> None:
    """No module imports a later layer."""
    assert sorted(violations()) == []


def test_reading_and_counting_meet_only_in_the_analyzer() -> None:
    """Sources read (files, searches) and know nothing of counting; the profile
    counts and knows nothing of where the data came from; ``analyzer.fetch`` joins them."""
    sources = {t for m in MODULES if m.startswith("mlmon_elk.sources") for t, _ in imports(m)}
    profile = {t for m in MODULES if m.startswith("mlmon_elk.profile") for t, _ in imports(m)}
    assert not {t for t in sources if t.startswith("mlmon_elk.profile")}
    assert not {t for t in profile if t.startswith(("mlmon_elk.sources", "mlmon_elk.analyzer"))}


def test_the_counting_specs_use_only_the_profile_model_and_the_foundation() -> None:
    """One spec per kind holds an aggregation, its parser and their counterparts on
    values and documents; it cannot reach for I/O or the checks."""
    outside = {
        f"{module} -> {target}"
        for module in MODULES
        if module.startswith("mlmon_elk.profile.counting")
        for target, _ in imports(module)
        if layer_of(target) != 0 and not target.startswith(SPEC_MAY_IMPORT)
    }
    assert sorted(outside) == []


def test_the_checker_sees_imports_anywhere() -> None:
    """Lazy imports inside functions and TYPE_CHECKING imports count: the analyzer's
    ``from mlmon_elk.checks import check_run`` inside its run and the root's typed
    names are both found."""
    run = dict(imports("mlmon_elk.analyzer.run"))
    assert "mlmon_elk.checks" in run
    root = dict(imports("mlmon_elk"))
    assert root["mlmon_elk.producer.handler"] is True
    assert set(root) >= FACADE


def test_the_rule() -> None:
    """Down the flow is allowed, up is not; one package's modules import each other
    freely; the root imports its public entry points for type checkers only."""
    assert allowed("mlmon_elk.checks.distribution", "mlmon_elk.profile.stats")
    assert not allowed("mlmon_elk.profile.build", "mlmon_elk.checks.metrics")
    assert allowed("mlmon_elk.cli.analyze", "mlmon_elk.sinks.files")
    assert not allowed("mlmon_elk.sinks.files", "mlmon_elk.analyzer.config")
    assert not allowed("mlmon_elk.stack.setup", "mlmon_elk.analyzer.run")
    assert allowed("mlmon_elk.checks.run", "mlmon_elk.checks")
    assert allowed("mlmon_elk.producer.handler", "mlmon_elk.errors")
    assert not allowed("mlmon_elk.errors", "mlmon_elk.engine.client")
    assert allowed("mlmon_elk", "mlmon_elk.producer.handler", typing_only=True)
    assert not allowed("mlmon_elk", "mlmon_elk.producer.handler")
    assert not allowed("mlmon_elk", "mlmon_elk.producer.sender", typing_only=True)
