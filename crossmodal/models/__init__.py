from . import backbones, fusion, heads, losses, methods, segmentors  # noqa: F401
from . import distill  # noqa: F401,E402  (after losses/methods/segmentors it uses)
from .data_preprocessor import MultiModalDataPreprocessor

__all__ = ['MultiModalDataPreprocessor']
