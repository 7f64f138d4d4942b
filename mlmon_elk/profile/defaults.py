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

DEFAULT_SAMPLE_ROWS = 20_000
"""Predictions of one version above which the engine counts a window's features on a
random sample of about this many. On real data, windows of 20,000 catch the same
smallest graded changes as windows of 50,000 (the checks' minimum effects decide, not
the sample's noise: ``bench/power.py --sizes``); what a larger sample adds is a
never-seen value rarer than about 1 prediction in 5,000–10,000, at the price of a
window's cost growing further with its size (``bench/engine_growth.py``)."""
