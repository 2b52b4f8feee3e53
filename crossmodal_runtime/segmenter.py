"""Torch-free segmenter for exported single-modality students (numpy + OpenCV + onnxruntime).

    from crossmodal_runtime import Segmenter
    seg = Segmenter('student.onnx')          # reads student.onnx.json beside it
    out = seg(frame_rgb)                     # uint8 (H, W, 3), RGB order
    out.labels      # (H, W) uint8 class ids (int32 when K > 255)
    out.confidence  # (H, W) float32 max softmax probability
    out.logits      # (K, H, W) float32, at the frame's resolution

Pre/post-processing: :mod:`crossmodal_runtime.processing` (resize or pad policy from the sidecar).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .processing import check_frame, postprocess, preprocess, softmax_max
from .spec import load_spec, validate_spec
from .visualize import colorize, overlay

__all__ = ['SegmentationResult', 'OnnxBackend', 'Segmenter']


@dataclass
class SegmentationResult:
    """One frame's prediction, at the frame's resolution.

    Attributes:
        labels: (H, W) uint8 (int32 when there are more than 255 classes) argmax class ids.
        confidence: (H, W) float32 max softmax probability in (0, 1].
        logits: (K, H, W) float32 class logits.
    """
    labels: np.ndarray
    confidence: np.ndarray
    logits: np.ndarray


class OnnxBackend:
    """Runs an ``.onnx`` graph with onnxruntime: (1, 3, h, w) float32 -> (1, K, h, w) logits."""

    def __init__(self, path: str, providers: Optional[Sequence[str]] = None,
                 num_threads: Optional[int] = None) -> None:
        import onnxruntime as ort
        if not os.path.isfile(path):
            raise FileNotFoundError(f'ONNX model not found: {path}')
        so = ort.SessionOptions()
        if num_threads:
            so.intra_op_num_threads = int(num_threads)
        self.session = ort.InferenceSession(
            path, so, providers=list(providers or ['CPUExecutionProvider']))
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: x})[0]


class Segmenter:
    """Semantic segmentation of RGB frames with an exported student.

    Args:
        model: path of an ``.onnx`` file with its ``.onnx.json`` sidecar.
        providers: onnxruntime execution providers (default CPU).
        num_threads: onnxruntime intra-op threads (default: onnxruntime's choice).

    Subclasses (``crossmodal.apis.Segmenter``) pass ``backend`` + ``spec`` to run a PyTorch
    checkpoint through the same pre/post-processing.
    """

    def __init__(self, model: Optional[str] = None, *, providers: Optional[Sequence[str]] = None,
                 num_threads: Optional[int] = None, backend: Any = None,
                 spec: Optional[Dict[str, Any]] = None) -> None:
        if backend is not None:
            if spec is None:
                raise ValueError('a custom backend needs its spec')
            self.spec = validate_spec(spec)
            self.backend = backend
            self.source = model or '<backend>'
            return
        if model is None:
            raise ValueError('Segmenter needs a model path')
        model = os.fspath(model)
        if not model.endswith('.onnx'):
            raise ValueError(
                f'{model}: crossmodal_runtime.Segmenter runs exported .onnx models only. For a '
                f'PyTorch checkpoint use crossmodal.apis.Segmenter(ckpt, config=cfg) (needs torch '
                f'and mmseg), or export it with tools/export.py --format onnx.')
        if not os.path.isfile(model):
            raise FileNotFoundError(f'ONNX model not found: {model}')
        self.spec = load_spec(model)
        self.backend = OnnxBackend(model, providers=providers, num_threads=num_threads)
        self.source = model

    # metadata -----------------------------------------------------------------------------
    @property
    def classes(self) -> List[str]:
        return list(self.spec['classes'])

    @property
    def palette(self) -> List[List[int]]:
        return [list(c) for c in self.spec['palette']]

    # inference ----------------------------------------------------------------------------
    def __call__(self, frame: np.ndarray) -> SegmentationResult:
        """Segment one uint8 (H, W, 3) RGB frame; see :mod:`crossmodal_runtime.processing`."""
        check_frame(frame, where=f'{type(self).__name__}({os.path.basename(self.source)}) input')
        x, info = preprocess(frame, self.spec['input'])
        raw = self.backend(x)
        logits = postprocess(np.asarray(raw), info)
        labels, conf = softmax_max(logits)
        return SegmentationResult(labels=labels, confidence=conf, logits=logits)

    def colorize(self, labels: np.ndarray) -> np.ndarray:
        return colorize(labels, self.palette)

    def overlay(self, frame_rgb: np.ndarray, labels: np.ndarray, alpha: float = 0.5) -> np.ndarray:
        return overlay(frame_rgb, labels, self.palette, alpha)
