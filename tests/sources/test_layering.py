"""Reading and counting meet only in the analyzer: sources read, profile counts.

``mlmon_elk.sources`` lists, opens and decodes files and sends searches; it knows
nothing of what is counted. ``mlmon_elk.profile`` counts (aggregations and their
parsers, documents, DataFrames); it knows nothing of where the data came from.
``mlmon_elk.analyzer.fetch`` composes the two. Imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mlmon_elk

PACKAGE = Path(mlmon_elk.__file__).parent


def imported(package: str) -> dict[str, set[str]]:
    """Module path → the ``mlmon_elk`` modules it imports, for every module of ``package``."""
    found: dict[str, set[str]] = {}
    for path in sorted((PACKAGE / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        found[str(path.relative_to(PACKAGE))] = {n for n in names if n.startswith("mlmon_elk")}
    return found


def offending(package: str, forbidden: tuple[str, ...]) -> dict[str, set[str]]:
    return {
        module: bad
        for module, names in imported(package).items()
        if (bad := {n for n in names if n.startswith(forbidden)})
    }


LATER = ("mlmon_elk.checks", "mlmon_elk.results", "mlmon_elk.sinks", "mlmon_elk.analyzer")


def test_sources_import_neither_the_counting_nor_anything_later() -> None:
    assert imported("sources")  # the walk sees the package
    assert offending("sources", ("mlmon_elk.profile", *LATER)) == {}


def test_profile_reads_nothing() -> None:
    """The profile never reaches for a source or the analyzer that composes them."""
    assert offending("profile", ("mlmon_elk.sources", "mlmon_elk.analyzer")) == {}


def test_the_counting_specs_depend_only_on_the_profile_and_the_foundation() -> None:
    allowed = (
        "mlmon_elk.profile.baseline",
        "mlmon_elk.profile.counting",
        "mlmon_elk.profile.performance",
        "mlmon_elk.profile.values",
        "mlmon_elk.profile.window",
        "mlmon_elk.contract",
        "mlmon_elk.windows",
    )
    outside = {
        module: bad
        for module, names in imported("profile/counting").items()
        if (bad := {n for n in names if not n.startswith(allowed)})
    }
    assert outside == {}
