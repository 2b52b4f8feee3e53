"""``DepthPhotometricAug``: depth-only "photometric" augmentation (decoupled augmentation).

CroDiNo-KD (arXiv 2505.24361) trains each modality with its own augmentation ("decoupled data
augmentation"); the exact lists are unknown, so this is a **reconstruction**
(docs/methods/crodino.md (b)):
geometry stays shared (``JointGeometricAug`` / ``MultiModalRandomCrop``, needed by the pixel-level
contrastive loss), colour jitter goes to RGB only (``ModalityPhotometricAug``), and depth gets
sensor-like corruptions of its own, drawn independently of the RGB ones:

* global scale jitter: ``d *= s``, ``s ~ U(scale_range)`` (with probability ``scale_p``);
* additive Gaussian noise (metres) proportional to depth:
  ``d += N(0, (noise_std + noise_rel * d)^2)`` (with probability ``noise_p``);
* random holes: ``1..max_holes`` axis-aligned rectangles (side = ``hole_size`` fraction of the
  image side, uniform) set to ``invalid_value`` (0 = no measurement, the loader's convention), with
  probability ``hole_p``.

Pixels that were invalid (== ``invalid_value``) stay invalid; noisy values are clipped at 0 (a value
pushed to 0 becomes invalid). Random numbers come from numpy's global generator, which MMEngine
seeds per process and worker, so a fixed seed reproduces the augmentation.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class DepthPhotometricAug(BaseTransform):
    """Independent depth corruptions (scale jitter, noise, holes) on one float depth modality.

    Args:
        modality: name in ``results['modalities']`` (float32 HxW or HxWx1 metres).
        scale_range: (lo, hi) global scale factor range; ``scale_p`` its probability.
        noise_std: additive noise std in metres; ``noise_rel`` adds ``noise_rel * d`` to the std;
            ``noise_p`` the probability of adding noise.
        hole_p: probability of punching holes; ``max_holes`` holes at most;
            ``hole_size=(lo, hi)`` side length as a fraction of the image side.
        invalid_value: the value meaning "no measurement" (kept and written for holes).
    """

    def __init__(
        self,
        modality: str = 'depth',
        scale_range: Tuple[float, float] = (0.9, 1.1),
        scale_p: float = 0.5,
        noise_std: float = 0.0,
        noise_rel: float = 0.01,
        noise_p: float = 0.5,
        hole_p: float = 0.5,
        max_holes: int = 3,
        hole_size: Tuple[float, float] = (0.05, 0.2),
        invalid_value: float = 0.0,
    ) -> None:
        lo, hi = scale_range
        if not 0 < lo <= hi:
            raise ValueError(
                f'DepthPhotometricAug: scale_range must satisfy 0 < lo <= hi, got {scale_range}'
            )
        if noise_std < 0 or noise_rel < 0:
            raise ValueError('DepthPhotometricAug: noise_std and noise_rel must be >= 0')
        hlo, hhi = hole_size
        if not 0 < hlo <= hhi <= 1:
            raise ValueError(
                f'DepthPhotometricAug: hole_size must satisfy 0 < lo <= hi <= 1, got {hole_size}'
            )
        if max_holes < 1:
            raise ValueError('DepthPhotometricAug: max_holes must be >= 1')
        for name, p in (('scale_p', scale_p), ('noise_p', noise_p), ('hole_p', hole_p)):
            if not 0 <= p <= 1:
                raise ValueError(f'DepthPhotometricAug: {name} must be in [0, 1], got {p}')
        self.modality = modality
        self.scale_range = (float(lo), float(hi))
        self.scale_p = float(scale_p)
        self.noise_std = float(noise_std)
        self.noise_rel = float(noise_rel)
        self.noise_p = float(noise_p)
        self.hole_p = float(hole_p)
        self.max_holes = int(max_holes)
        self.hole_size = (float(hlo), float(hhi))
        self.invalid_value = float(invalid_value)

    def transform(self, results: dict) -> dict:
        mods = results.get('modalities', {})
        if self.modality not in mods:
            return results
        arr = mods[self.modality]
        if not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(
                f'DepthPhotometricAug({self.modality!r}): expected float depth (metres, as '
                f'LoadMultiModalFromFile yields), got {arr.dtype}'
            )
        d = arr.astype(np.float32, copy=True)
        invalid = d == self.invalid_value
        if np.random.rand() < self.scale_p:
            d *= np.float32(np.random.uniform(*self.scale_range))
        if np.random.rand() < self.noise_p and (self.noise_std > 0 or self.noise_rel > 0):
            std = self.noise_std + self.noise_rel * np.abs(d)
            d = d + np.random.standard_normal(d.shape).astype(np.float32) * std
            d = np.maximum(d, 0.0)
        if np.random.rand() < self.hole_p:
            h, w = d.shape[:2]
            for _ in range(np.random.randint(1, self.max_holes + 1)):
                hh = max(1, int(round(h * np.random.uniform(*self.hole_size))))
                ww = max(1, int(round(w * np.random.uniform(*self.hole_size))))
                y = np.random.randint(0, h - hh + 1)
                x = np.random.randint(0, w - ww + 1)
                d[y : y + hh, x : x + ww] = self.invalid_value
        d[invalid] = self.invalid_value
        mods[self.modality] = d.astype(arr.dtype, copy=False)
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(modality={self.modality!r}, '
            f'scale_range={self.scale_range}, '
            f'noise_std={self.noise_std}, noise_rel={self.noise_rel}, hole_p={self.hole_p}, '
            f'max_holes={self.max_holes}, hole_size={self.hole_size})'
        )
