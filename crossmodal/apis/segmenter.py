"""``Segmenter``: one object for RGB-frame inference from an ONNX export or a PyTorch checkpoint.

    from crossmodal.apis import Segmenter
    seg = Segmenter('student.onnx')                         # onnxruntime (no torch needed)
    seg = Segmenter('student.pth', config='student.py')     # PyTorch + mmseg
    out = seg(frame_rgb)   # .labels (H, W) uint8, .confidence (H, W) float32, .logits (K, H, W)

Both paths share the pre/post-processing of :mod:`crossmodal_runtime.processing`: frames are
uint8 (H, W, 3) **RGB**; a fixed-size model resizes the frame to its size and the logits back; a
dynamic model (ONNX ``--dynamic``, or a checkpoint without ``input_size``) pads bottom/right to a
multiple of 32 (the config's ``size_divisor``) with the mean colour and crops the logits back.

Importing this module does not import torch; only the checkpoint path does. Note that
``import crossmodal`` itself imports torch (compat layer): a robot without torch uses
``from crossmodal_runtime import Segmenter`` (same class, ONNX only).
"""

from __future__ import annotations

import os
from typing import Optional, Sequence, Tuple

import numpy as np

from crossmodal_runtime import SegmentationResult
from crossmodal_runtime import Segmenter as _RuntimeSegmenter

__all__ = ['Segmenter', 'SegmentationResult', 'TorchBackend']


class TorchBackend:
    """(1, 3, h, w) float32 raw RGB -> (1, K, h, w) logits with the student in PyTorch eager."""

    def __init__(self, model, info, device: str = 'cpu') -> None:
        from crossmodal.deploy.onnx_export import StudentGraph

        self.device = device
        self.graph = StudentGraph(model, info.mean, info.std, info.network_channel_order)
        self.graph.to(device).eval()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.graph(torch.from_numpy(x).to(self.device)).cpu().numpy()


class Segmenter(_RuntimeSegmenter):
    """Segment RGB frames with an exported ``.onnx`` student or a student checkpoint.

    Args:
        model: ``.onnx`` (with its ``.onnx.json`` sidecar) or a checkpoint (``.pth``).
        config: the student's config (required for a checkpoint).
        input_size: (H, W) for a checkpoint: resize frames to it; None: pad to a multiple of the
            config's ``size_divisor`` (default 32) instead.
        student_prefix: for a distillation checkpoint, e.g. ``'student.'``.
        device: torch device for a checkpoint.
        providers / num_threads: onnxruntime options for an ``.onnx`` model.
        grey_to_rgb: accept 1-channel uint8 (grey) frames, copied into R, G and B; refused
            otherwise. 16-bit frames are always refused (docs/deploy.md, input policy).

    A checkpoint is loaded strictly: a distiller's, teacher's, RTFDNet or CroDiNo-KD checkpoint,
    or weights of another student, raise an error saying what the checkpoint is and what to use.
    """

    def __init__(
        self,
        model: str,
        config: Optional[str] = None,
        *,
        input_size: Optional[Tuple[int, int]] = None,
        student_prefix: Optional[str] = None,
        device: str = 'cpu',
        providers: Optional[Sequence[str]] = None,
        num_threads: Optional[int] = None,
        grey_to_rgb: bool = False,
    ) -> None:
        model = os.fspath(model)
        if model.endswith('.onnx'):
            if config is not None:
                raise ValueError(
                    f'{model}: an ONNX model takes no config (its sidecar '
                    f'{model}.json holds the metadata)'
                )
            super().__init__(
                model, providers=providers, num_threads=num_threads, grey_to_rgb=grey_to_rgb
            )
            return
        if config is None:
            raise ValueError(f'{model}: a checkpoint needs its config (config=... / --config)')
        from crossmodal.deploy.onnx_export import build_spec
        from crossmodal.deploy.student import load_student

        net, _, _, info = load_student(config, model, student_prefix=student_prefix, device=device)
        spec = build_spec(info, input_size, dynamic=input_size is None)
        self.model = net
        self.info = info
        super().__init__(
            model, backend=TorchBackend(net, info, device), spec=spec, grey_to_rgb=grey_to_rgb
        )
