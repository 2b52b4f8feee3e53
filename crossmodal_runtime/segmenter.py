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
from .spec import SidecarError, load_spec, sidecar_path, validate_spec
from .visualize import colorize, overlay

__all__ = ['SegmentationResult', 'OnnxBackend', 'Segmenter', 'ModelFileError']


class ModelFileError(ValueError):
    """The ``.onnx`` file cannot be loaded by onnxruntime (corrupt, truncated, not ONNX)."""


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

    def __init__(
        self,
        path: str,
        providers: Optional[Sequence[str]] = None,
        num_threads: Optional[int] = None,
    ) -> None:
        import onnxruntime as ort

        if not os.path.isfile(path):
            raise FileNotFoundError(f'ONNX model not found: {path}')
        so = ort.SessionOptions()
        if num_threads:
            so.intra_op_num_threads = int(num_threads)
        try:
            self.session = ort.InferenceSession(
                path, so, providers=list(providers or ['CPUExecutionProvider'])
            )
        except Exception as e:  # onnxruntime raises its own (InvalidProtobuf, Fail, ...) types
            first = str(e).strip().splitlines()[0] if str(e).strip() else ''
            raise ModelFileError(
                f'{path}: onnxruntime cannot load this file as an ONNX model (corrupt, truncated '
                f'or not an .onnx file): {type(e).__name__}: {first}. Copy it again or re-export '
                f'it with `tools/export.py <config> <ckpt> --format onnx --out '
                f'{os.path.basename(path)}`.'
            ) from e
        self.input_name = self.session.get_inputs()[0].name
        out_shape = self.session.get_outputs()[0].shape
        # number of output channels (classes) when the graph states it (None: symbolic)
        self.num_outputs = (
            out_shape[1] if len(out_shape) == 4 and isinstance(out_shape[1], int) else None
        )

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: x})[0]


class Segmenter:
    """Semantic segmentation of RGB frames with an exported student.

    Args:
        model: path of an ``.onnx`` file with its ``.onnx.json`` sidecar.
        providers: onnxruntime execution providers (default CPU).
        num_threads: onnxruntime intra-op threads (default: onnxruntime's choice).
        grey_to_rgb: accept 1-channel uint8 (grey) frames by copying the grey value into R, G
            and B; without it a grey frame is refused (:func:`~crossmodal_runtime.check_frame`).

    Raises (at construction): :class:`SidecarError` (sidecar missing or malformed, or its class
    count differs from the model's output channels), :class:`ModelFileError` (the ``.onnx`` file
    does not load).

    Subclasses (``crossmodal.apis.Segmenter``) pass ``backend`` + ``spec`` to run a PyTorch
    checkpoint through the same pre/post-processing.
    """

    def __init__(
        self,
        model: Optional[str] = None,
        *,
        providers: Optional[Sequence[str]] = None,
        num_threads: Optional[int] = None,
        backend: Any = None,
        spec: Optional[Dict[str, Any]] = None,
        grey_to_rgb: bool = False,
    ) -> None:
        self.grey_to_rgb = bool(grey_to_rgb)
        self._checked_outputs = False
        if backend is not None:
            if spec is None:
                raise ValueError('a custom backend needs its spec')
            self.spec = validate_spec(spec)
            self.backend = backend
            self.source = model or '<backend>'
            self._spec_source = 'the spec'
            return
        if model is None:
            raise ValueError('Segmenter needs a model path')
        model = os.fspath(model)
        if not model.endswith('.onnx'):
            raise ValueError(
                f'{model}: crossmodal_runtime.Segmenter runs exported .onnx models only. For a '
                f'PyTorch checkpoint use crossmodal.apis.Segmenter(ckpt, config=cfg) (needs torch '
                f'and mmseg), or export it with tools/export.py --format onnx.'
            )
        if not os.path.isfile(model):
            raise FileNotFoundError(f'ONNX model not found: {model}')
        self.spec = load_spec(model)
        self.backend = OnnxBackend(model, providers=providers, num_threads=num_threads)
        self.source = model
        self._spec_source = sidecar_path(model)
        k = self.backend.num_outputs
        if k is None:  # a dynamic graph leaves the class axis symbolic: probe it once
            d = max(32, int(self.spec['input'].get('size_divisor') or 32))
            size = self.spec['input'].get('size') or (-(-64 // d) * d,) * 2
            k = np.asarray(
                self.backend(np.zeros((1, 3, int(size[0]), int(size[1])), np.float32))
            ).shape[1]
        self._check_num_outputs(k)

    def _check_num_outputs(self, k: int) -> None:
        """The sidecar's class count must equal the model's output channels."""
        n = len(self.spec['classes'])
        if int(k) != n:
            raise SidecarError(
                f'{self._spec_source} lists {n} classes but the model {self.source} outputs {k} '
                f'channels (classes): the sidecar belongs to another export; copy the .onnx and '
                f'its .onnx.json from the same `tools/export.py` run.'
            )
        self._checked_outputs = True

    # metadata -----------------------------------------------------------------------------
    @property
    def classes(self) -> List[str]:
        return list(self.spec['classes'])

    @property
    def palette(self) -> List[List[int]]:
        return [list(c) for c in self.spec['palette']]

    # inference ----------------------------------------------------------------------------
    def __call__(self, frame: np.ndarray, where: Optional[str] = None) -> SegmentationResult:
        """Segment one uint8 (H, W, 3) RGB frame; see :mod:`crossmodal_runtime.processing`.

        ``where`` names the frame in errors (default: the segmenter and its model file)."""
        frame = check_frame(
            frame,
            where=where or f'{type(self).__name__}({os.path.basename(self.source)}) input',
            grey_to_rgb=self.grey_to_rgb,
        )
        x, info = preprocess(frame, self.spec['input'])
        raw = np.asarray(self.backend(x))
        if not self._checked_outputs and raw.ndim == 4:  # graphs with a symbolic class axis
            self._check_num_outputs(raw.shape[1])
        logits = postprocess(raw, info)
        labels, conf = softmax_max(logits)
        return SegmentationResult(labels=labels, confidence=conf, logits=logits)

    def colorize(self, labels: np.ndarray) -> np.ndarray:
        return colorize(labels, self.palette)

    def overlay(self, frame_rgb: np.ndarray, labels: np.ndarray, alpha: float = 0.5) -> np.ndarray:
        return overlay(frame_rgb, labels, self.palette, alpha)
