"""``MultiModalResize``: resize the image and every modality to one size (test-time resize).

mmseg's test convention: the *inputs* are resized for the network, the *label* stays at the size it
was loaded (``ori_shape``), and ``postprocess_result`` resizes the logits back to ``ori_shape``, so
the metric scores at full resolution. In mmseg this falls out of the pipeline order (``Resize`` runs
before ``LoadAnnotations``); our loader reads the label together with the modalities, so this
transform leaves ``gt_seg_map`` / ``gt_regression`` untouched unless ``resize_label=True``.

Metadata written: ``img_shape`` = (h, w) after resizing, ``scale_factor`` = (w_scale, h_scale) as
in mmseg; ``ori_shape`` is left as the loader set it (the stored size).
"""

from __future__ import annotations

from typing import Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


def _resize(arr: np.ndarray, h: int, w: int, nearest: bool) -> np.ndarray:
    """(H, W[, C]) -> (h, w[, C]); channel count and dtype kept (cv2 drops a trailing 1-channel)."""
    if arr.shape[:2] == (h, w):
        return arr
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    if arr.ndim == 3 and arr.shape[2] > 4:  # cv2.resize handles at most 4 channels at once
        return np.stack([_resize(arr[..., c], h, w, nearest) for c in range(arr.shape[2])], axis=-1)
    out = cv2.resize(arr, (w, h), interpolation=interp)
    if arr.ndim == 3 and out.ndim == 2:
        out = out[..., None]
    return out


@TRANSFORMS.register_module()
class MultiModalResize(BaseTransform):
    """Resize ``img`` and every entry of ``modalities`` to ``scale`` = (h, w) pixels.

    Args:
        scale: target (height, width) in pixels.
        resize_label: also resize ``gt_seg_map`` and ``gt_regression`` (nearest). False (default)
            is the test-time convention: the label keeps the loaded size and is scored against
            predictions resized back to ``ori_shape``. Use True only in training pipelines.
        nearest_modalities: modalities resampled with nearest-neighbour (default depth, whose
            invalid zeros must not blend into valid depth); the image and the others are bilinear
            (the interpolation of albumentations' ``Resize``, so train and test inputs match).

    Required keys: ``img`` and/or ``modalities``. Modified: those, ``img_shape``,
    ``scale_factor`` (and the labels when ``resize_label``). Cached teacher maps
    (``teacher_cache``, :class:`LoadTeacherCache`) follow the image, always with nearest.
    """

    def __init__(
        self,
        scale: Tuple[int, int],
        resize_label: bool = False,
        nearest_modalities: Sequence[str] = ('depth',),
    ):
        if len(tuple(scale)) != 2 or min(int(s) for s in scale) <= 0:
            raise ValueError(f'MultiModalResize: scale must be (height, width) > 0, got {scale!r}')
        self.scale = (int(scale[0]), int(scale[1]))
        self.resize_label = bool(resize_label)
        self.nearest_modalities = tuple(nearest_modalities)

    def transform(self, results: dict) -> dict:
        h, w = self.scale
        in_h, in_w = results['img_shape'][:2]
        if 'img' in results:
            results['img'] = _resize(results['img'], h, w, nearest=False)
        mods = results.get('modalities', {})
        for name in list(mods):
            mods[name] = _resize(mods[name], h, w, nearest=name in self.nearest_modalities)
        cached = results.get('teacher_cache', {})
        for name in list(cached):
            cached[name] = _resize(cached[name], h, w, nearest=True)
        if self.resize_label:
            for key in ('gt_seg_map', 'gt_regression'):
                if key in results:
                    results[key] = _resize(results[key], h, w, nearest=True)
        results['img_shape'] = (h, w)
        old = results.get('scale_factor', (1.0, 1.0))
        results['scale_factor'] = (old[0] * w / in_w, old[1] * h / in_h)
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(scale={self.scale}, resize_label={self.resize_label}, '
            f'nearest_modalities={self.nearest_modalities})'
        )
