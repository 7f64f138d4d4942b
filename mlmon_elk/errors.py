"""The one exception hierarchy of mlmon-elk.

Every error the package raises on purpose derives from :class:`MlmonError`, so
callers can catch the whole family with one ``except``. Subclasses say where the
problem is; third-party errors are translated at the I/O edge with
``raise ... from exc``. The logging path never raises at all (see ``handler``).
"""

from __future__ import annotations


class MlmonError(Exception):
    """Base class of every error raised by mlmon-elk."""


class ConfigError(MlmonError, ValueError):
    """A configuration value is wrong; the message names the exact key."""


class BaselineError(MlmonError):
    """A baseline profile cannot be built, read or used."""


class DataError(MlmonError, ValueError):
    """Input data (training data, log files) cannot be read or understood."""


class SourceError(MlmonError):
    """A window of predictions cannot be fetched from its source."""


class SinkError(MlmonError):
    """Check results or alerts cannot be written."""


class SetupError(MlmonError):
    """Installing Elastic stack assets failed."""
