"""Where the Kibana and Logstash files are, installed or in a source checkout.

They live at the top of the repository (``kibana_dashboards/``, ``logstash/``)
and are copied into wheels as ``mlmon_elk/_assets/`` (see pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

from mlmon_elk.errors import SetupError

_PACKAGE = Path(__file__).resolve().parents[1]
"""The ``mlmon_elk`` package directory."""


def asset_dir(name: str) -> Path:
    """Directory of the asset family ``name`` (``kibana_dashboards`` or ``logstash``).

    Raises:
        SetupError: when neither the installed copy nor a source checkout has it.
    """
    for candidate in (_PACKAGE / "_assets" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    msg = f"asset directory {name!r} not found (broken installation?)"
    raise SetupError(msg)
