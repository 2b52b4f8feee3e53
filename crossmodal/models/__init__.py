from . import backbones, fusion, losses, methods, segmentors  # noqa: F401
from .data_preprocessor import MultiModalDataPreprocessor

__all__ = ['MultiModalDataPreprocessor']
