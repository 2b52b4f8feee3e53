from . import backbones, fusion, losses, segmentors  # noqa: F401
