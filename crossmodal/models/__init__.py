from . import backbones, fusion, losses, methods, segmentors  # noqa: F401
