"""Deprecated registry names of the losses: one warning per old name and process.

An alias is a registered subclass of the new class that changes nothing but (where the old class
had other defaults) its defaults, so configs written with the old ``type`` keep building the same
loss with the same value.
"""

from __future__ import annotations

import warnings

_WARNED: set = set()


def warn_deprecated_alias(old: str, new: str, hint: str = '') -> None:
    """Warn (``FutureWarning``, shown by default, once per ``old`` name) that ``old`` is ``new``."""
    if old in _WARNED:
        return
    _WARNED.add(old)
    warnings.warn(
        f"loss type '{old}' is deprecated; use '{new}'{hint}. The old name builds the "
        f'same loss and will be removed in a later release.',
        FutureWarning,
        stacklevel=3,
    )
