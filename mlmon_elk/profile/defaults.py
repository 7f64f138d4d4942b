"""Defaults of the window counts and the baseline calibration that configuration
also offers, kept free of numpy and pandas so that reading a configuration stays
light (the modules that use them are heavy)."""

from __future__ import annotations

EXAMPLES = 10
"""How many unseen values / OOV tokens are kept as examples."""

MIN_EXPECTED_COUNT = 5
"""Top categories expected fewer than this many times in a window are pooled
into "other" (χ² validity; stops rare ids from dominating PSI). The checks'
``min_expected_count`` and the calibration's must match: both default to this."""

DEFAULT_SAMPLE_ROWS = 50_000
"""Predictions of one version above which the engine counts a window's features on a
random sample of about this many: large enough that a check still sees a 0.1-point
rate change or a 0.05 σ shift, small enough that a window's cost stops growing."""
