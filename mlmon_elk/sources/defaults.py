"""Defaults of the sources that configuration also offers, kept free of numpy and
pandas so that reading a configuration stays light."""

from __future__ import annotations

DEFAULT_CHUNK_ROWS = 50_000
"""Lines parsed and counted at a time; bounds memory whatever the file size."""
