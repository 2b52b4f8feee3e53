"""``ModalityDropout``: blank whole modalities at random (robustness to missing sensors)."""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


def blank_like(arr: np.ndarray, fill: str = 'zero', value: Optional[float] = None) -> np.ndarray:
    """A blanked copy: zeros, the array's own mean (per channel), or a given constant."""
    if fill == 'zero':
        return np.zeros_like(arr)
    if fill == 'mean':
        axes = (0, 1)
        return (
            np.broadcast_to(arr.mean(axis=axes, keepdims=True), arr.shape).astype(arr.dtype).copy()
        )
    if fill == 'value':
        return np.full_like(arr, value)
    raise ValueError(f"fill must be 'zero', 'mean' or 'value', got {fill!r}")


@TRANSFORMS.register_module()
class ModalityDropout(BaseTransform):
    """With probability ``p`` per modality, replace it by a blank array.

    Args:
        p: drop probability of each listed modality (float, or {name: p}).
        modalities: names that may be dropped (``'rgb'`` means ``img``).
        fill: ``'zero'`` or ``'mean'`` (per-sample mean of that modality) or ``'value'``.
        fill_value: {name: value} in stored units for ``fill='value'`` (e.g. the dataset mean).
        keep_at_least_one: never blank every modality of a sample at once.

    Adds ``dropped_modalities`` (list of names) to the results.
    """

    def __init__(
        self,
        p=0.2,
        modalities: Sequence[str] = ('depth', 'thermal'),
        fill: str = 'zero',
        fill_value: Optional[Dict[str, float]] = None,
        keep_at_least_one: bool = True,
    ):
        self.p = p
        self.modalities = tuple(modalities)
        self.fill = fill
        self.fill_value = dict(fill_value or {})
        self.keep_at_least_one = keep_at_least_one
        if fill not in ('zero', 'mean', 'value'):
            raise ValueError(f"fill must be 'zero', 'mean' or 'value', got {fill!r}")

    def _p(self, name: str) -> float:
        return float(self.p.get(name, 0.0)) if isinstance(self.p, dict) else float(self.p)

    def transform(self, results: dict) -> dict:
        present = [
            m
            for m in self.modalities
            if (m == 'rgb' and 'img' in results) or m in results.get('modalities', {})
        ]
        drop = [m for m in present if np.random.rand() < self._p(m)]
        n_total = int('img' in results) + len(results.get('modalities', {}))
        if self.keep_at_least_one and drop and len(drop) == n_total:
            drop.pop(np.random.randint(len(drop)))
        for m in drop:
            if m == 'rgb':
                results['img'] = blank_like(results['img'], self.fill, self.fill_value.get(m))
            else:
                results['modalities'][m] = blank_like(
                    results['modalities'][m], self.fill, self.fill_value.get(m)
                )
        results['dropped_modalities'] = drop
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(p={self.p}, modalities={self.modalities}, '
            f'fill={self.fill!r})'
        )
