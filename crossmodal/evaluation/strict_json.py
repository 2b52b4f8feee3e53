"""Strict JSON for result files: non-finite numbers become ``null``.

Python's ``json`` writes ``NaN`` / ``Infinity`` by default, which is not JSON (RFC 8259) and which
``jq``, JavaScript and most JSON parsers reject. A class absent from the test set has IoU NaN
(0 / 0), so metric files would contain it. :func:`to_strict_json` maps every non-finite float
(Python or numpy scalar) to ``None`` (written ``null``); :func:`dump_strict_json` writes with
``allow_nan=False`` so a missed value is an error, never invalid output.
"""

from __future__ import annotations

import json
import math
import numbers
from typing import Any


def to_strict_json(obj: Any) -> Any:
    """Copy of ``obj`` (dicts, lists, tuples, numbers) with NaN/±inf replaced by ``None``.

    numpy scalars become Python ``float``/``int``; other objects are returned unchanged.
    """
    if isinstance(obj, dict):
        return {k: to_strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_strict_json(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        v = float(obj)
        return v if math.isfinite(v) else None
    return obj


def dump_strict_json(obj: Any, path: str, indent: int = 2) -> None:
    """Write ``to_strict_json(obj)`` to ``path`` (``allow_nan=False``)."""
    with open(path, 'w') as f:
        json.dump(to_strict_json(obj), f, indent=indent, allow_nan=False)
        f.write('\n')
