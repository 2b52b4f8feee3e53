"""High-level inference API.

``from crossmodal.apis import Segmenter`` imports lazily (PEP 562) so that the ONNX path of
:class:`Segmenter` never needs torch or mmseg; the torch-free runtime itself is the separate
package :mod:`crossmodal_runtime`.
"""

from importlib import import_module
from typing import Any

__all__ = ['Segmenter', 'SegmentationResult']

_LAZY = {'Segmenter': '.segmenter', 'SegmentationResult': '.segmenter'}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
