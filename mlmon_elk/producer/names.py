"""Names and text of the caller's keys and values, taken without ever raising."""

from __future__ import annotations

from mlmon_elk.contract import sanitize_name


def safe_name(raw: object) -> str:
    """The sanitised feature name of a key (named after its type if ``str()`` raises)."""
    try:
        return sanitize_name(raw)
    except Exception:
        return sanitize_name(f"<{type(raw).__name__}>")


def raw_text(raw: object) -> str:
    """``str(raw)``, or ``<type>`` when that raises."""
    try:
        return raw if isinstance(raw, str) else str(raw)
    except Exception:
        return f"<{type(raw).__name__}>"
