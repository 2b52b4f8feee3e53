"""Per-modality photometric augmentation (decoupled augmentation).

mmseg's ``PhotoMetricDistortion`` silently drops channels beyond 3, so photometric changes are
applied to one named modality at a time with albumentations' image-only transforms. 8-bit
arrays are passed as they are; float modalities need ``value_range=(lo, hi)`` and are mapped to
[0, 1] for the transform and back (albumentations assumes float images in [0, 1]).
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from ._albu import build_albu_list, reseed


@TRANSFORMS.register_module()
class ModalityPhotometricAug(BaseTransform):
    """Apply albumentations photometric transforms to one modality only.

    Args:
        modality: ``'rgb'`` (the ``img`` key) or a name in ``results['modalities']``.
        transforms: albumentations image-only configs, e.g.
            ``[dict(type='ColorJitter', brightness=0.3, contrast=0.3, p=0.8)]``.
        value_range: required for float modalities: (lo, hi) mapped to [0, 1] and back,
            values clipped to it.
    """

    def __init__(
        self, modality: str, transforms: Sequence, value_range: Optional[Tuple[float, float]] = None
    ):
        import albumentations as A

        built = build_albu_list(transforms)
        for t in built:
            if isinstance(t, A.DualTransform):
                raise TypeError(
                    f'{type(t).__name__} is geometric: applied to one modality it would misalign '
                    f'the modalities. Put it in JointGeometricAug.'
                )
        self.modality = modality
        self.value_range = value_range
        self.transform_cfgs = list(transforms)
        self.compose = A.Compose(built)

    def transform(self, results: dict) -> dict:
        if self.modality == 'rgb':
            if 'img' not in results:
                return results
            arr = results['img']
        else:
            mods = results.get('modalities', {})
            if self.modality not in mods:
                return results
            arr = mods[self.modality]
        squeeze = arr.ndim == 2
        x = arr[..., None] if squeeze else arr
        if x.dtype != np.uint8:
            if self.value_range is None:
                raise ValueError(
                    f'ModalityPhotometricAug({self.modality!r}): the modality is {x.dtype}; set '
                    f'value_range=(lo, hi) so it can be mapped to [0, 1] for albumentations'
                )
            lo, hi = self.value_range
            x = np.clip((x.astype(np.float32) - lo) / (hi - lo), 0, 1)
        reseed(self.compose)
        y = self.compose(image=x)['image']
        if arr.dtype != np.uint8:
            lo, hi = self.value_range
            y = (y.astype(np.float32) * (hi - lo) + lo).astype(arr.dtype)
        if squeeze:
            y = y[..., 0]
        if self.modality == 'rgb':
            results['img'] = y
        else:
            results['modalities'][self.modality] = y
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(modality={self.modality!r}, '
            f'transforms={self.transform_cfgs})'
        )
