"""crossmodal_runtime: run an exported crossmodal student on a robot with numpy, OpenCV and
onnxruntime only (no torch, no mmcv/mmseg, no ``crossmodal`` import).

    from crossmodal_runtime import Segmenter
    out = Segmenter('student.onnx')(frame_rgb)   # .labels (H, W), .confidence (H, W)

This package is separate from ``crossmodal`` on purpose: ``import crossmodal`` applies its
compatibility layer, which imports torch and mmseg. ``crossmodal.apis.Segmenter`` re-exports the
same class and adds the PyTorch checkpoint path.
"""

from .processing import FrameError, check_frame, postprocess, preprocess, softmax_max
from .segmenter import ModelFileError, OnnxBackend, SegmentationResult, Segmenter
from .spec import SidecarError, load_spec, sidecar_path, validate_spec
from .visualize import colorize, overlay, side_by_side

__all__ = [
    'Segmenter',
    'SegmentationResult',
    'OnnxBackend',
    'ModelFileError',
    'FrameError',
    'SidecarError',
    'check_frame',
    'preprocess',
    'postprocess',
    'softmax_max',
    'load_spec',
    'sidecar_path',
    'validate_spec',
    'colorize',
    'overlay',
    'side_by_side',
]
