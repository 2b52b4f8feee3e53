"""Geometric augmentation applied jointly to the image, every modality and the label.

:class:`JointGeometricAug` runs albumentations *dual* transforms with ``additional_targets`` so
one random draw moves every modality and the label identically. Continuous modalities (thermal,
HHA) use the image interpolation; modalities listed in ``nearest_modalities`` (default: depth,
whose invalid zeros must not be blended with valid depth) and the label use nearest-neighbour, as
do cached teacher maps (``results['teacher_cache']``, :class:`LoadTeacherCache`), so each of their
pixels keeps the top-k set of one source pixel.

:class:`MultiModalRandomCrop` crops every array at the same window (mmseg's ``cat_max_ratio``
rule), padding first when the sample is smaller than the crop, with per-key pad values (image 0,
label 255, each modality ``pad_val`` / 0, cached teacher maps 0: those pixels are void in the
label).
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from ._albu import build_albu_list, reseed

_CV_MAX_CHANNELS = 128  # OpenCV 5: cv2.flip / cv2.resize refuse arrays of more channels


@TRANSFORMS.register_module()
class JointGeometricAug(BaseTransform):
    """Albumentations geometric transforms over ``img``, ``modalities`` and ``gt_seg_map``.

    Args:
        transforms: albumentations configs, e.g. ``[dict(type='RandomScale', scale_limit=(-0.5,
            0.75), p=1), dict(type='HorizontalFlip', p=0.5)]``. Only dual (geometric) transforms
            are accepted: a photometric transform here would also hit depth/thermal, so it is an
            error (use :class:`ModalityPhotometricAug`).
        nearest_modalities: modalities resampled with nearest-neighbour (treated as masks).
    """

    def __init__(self, transforms: Sequence, nearest_modalities: Sequence[str] = ('depth',)):
        import albumentations as A

        self.transform_cfgs = list(transforms)
        built = build_albu_list(transforms)
        for t in built:
            if not isinstance(t, A.DualTransform):
                raise TypeError(
                    f'JointGeometricAug only takes geometric (dual) transforms; '
                    f'{type(t).__name__} is photometric and would also alter depth/thermal. '
                    f'Put it in ModalityPhotometricAug(modality="rgb", ...) instead.'
                )
        self.nearest_modalities = tuple(nearest_modalities)
        self._A = A
        self._built = built
        self._composes: Dict[Tuple, object] = {}

    def _compose(self, names: Tuple[Tuple[str, str], ...]):
        if names not in self._composes:
            self._composes[names] = self._A.Compose(
                self._built, additional_targets=dict(names), is_check_shapes=True
            )
        return self._composes[names]

    def transform(self, results: dict) -> dict:
        mods = results.get('modalities', {})
        targets = []
        kwargs = {}
        has_img = 'img' in results
        for name, arr in mods.items():
            key = f'mod_{name}'
            targets.append((key, 'mask' if name in self.nearest_modalities else 'image'))
            kwargs[key] = arr
        extra_masks = []
        for key in ('gt_regression',):
            if key in results:
                targets.append((key, 'mask'))
                kwargs[key] = results[key]
                extra_masks.append(key)
        cached = results.get('teacher_cache', {})
        chunks = {}
        for name, arr in cached.items():  # nearest, like the label (LoadTeacherCache)
            # OpenCV takes at most 128 channels per array: one mask target per chunk (one
            # Compose call draws one set of parameters for all targets)
            chunks[name] = [f'tc_{name}_{i}' for i in range(0, arr.shape[-1], _CV_MAX_CHANNELS)]
            for i, key in zip(range(0, arr.shape[-1], _CV_MAX_CHANNELS), chunks[name]):
                targets.append((key, 'mask'))
                kwargs[key] = np.ascontiguousarray(arr[..., i : i + _CV_MAX_CHANNELS])
        if has_img:
            kwargs['image'] = results['img']
        else:  # no RGB requested: drive the compose with the first modality
            first = next(iter(mods))
            kwargs['image'] = mods[first]
        if 'gt_seg_map' in results:
            kwargs['mask'] = results['gt_seg_map']
        compose = self._compose(tuple(targets))
        reseed(compose)
        out = compose(**kwargs)
        if has_img:
            results['img'] = out['image']
        for name in mods:
            arr = out[f'mod_{name}']
            if mods[name].ndim == 2 and arr.ndim == 3:
                arr = arr[..., 0]
            mods[name] = arr
        for key in extra_masks:
            results[key] = out[key]
        for name, keys in chunks.items():
            parts = [out[key] if out[key].ndim == 3 else out[key][..., None] for key in keys]
            cached[name] = np.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0]
        if 'gt_seg_map' in results:
            results['gt_seg_map'] = out['mask']
        h, w = out['image'].shape[:2]
        results['img_shape'] = (h, w)
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(transforms={self.transform_cfgs}, '
            f'nearest_modalities={self.nearest_modalities})'
        )


def _pad_to(arr: np.ndarray, h: int, w: int, val: float) -> np.ndarray:
    ph, pw = max(h - arr.shape[0], 0), max(w - arr.shape[1], 0)
    if ph == 0 and pw == 0:
        return arr
    pad = ((0, ph), (0, pw)) + ((0, 0),) * (arr.ndim - 2)
    return np.pad(arr, pad, mode='constant', constant_values=val)


@TRANSFORMS.register_module()
class MultiModalRandomCrop(BaseTransform):
    """Random crop of every array of a sample at one window.

    Args:
        crop_size: (h, w) in pixels.
        cat_max_ratio: retry (up to 10 times) while one class covers more than this fraction of
            the crop (mmseg's rule; 1.0 disables it).
        pad_val: image pad value; ``modality_pad_val``: {name: value} (default 0);
            ``seg_pad_val``: label pad value (255 = ignore). Regression targets pad with NaN.
    """

    def __init__(
        self,
        crop_size: Tuple[int, int],
        cat_max_ratio: float = 1.0,
        pad_val: float = 0,
        modality_pad_val: Optional[Dict[str, float]] = None,
        seg_pad_val: int = 255,
        ignore_index: int = 255,
    ):
        self.crop_size = tuple(crop_size)
        self.cat_max_ratio = cat_max_ratio
        self.pad_val = pad_val
        self.modality_pad_val = dict(modality_pad_val or {})
        self.seg_pad_val = seg_pad_val
        self.ignore_index = ignore_index

    def _window(self, h: int, w: int) -> Tuple[int, int, int, int]:
        ch, cw = self.crop_size
        y0 = np.random.randint(0, h - ch + 1)
        x0 = np.random.randint(0, w - cw + 1)
        return y0, y0 + ch, x0, x0 + cw

    def transform(self, results: dict) -> dict:
        ch, cw = self.crop_size
        h, w = results['img_shape'][:2]
        H, W = max(h, ch), max(w, cw)
        if 'img' in results:
            results['img'] = _pad_to(results['img'], H, W, self.pad_val)
        mods = results.get('modalities', {})
        for k in mods:
            mods[k] = _pad_to(mods[k], H, W, self.modality_pad_val.get(k, 0))
        if 'gt_seg_map' in results:
            results['gt_seg_map'] = _pad_to(results['gt_seg_map'], H, W, self.seg_pad_val)
        if 'gt_regression' in results:
            results['gt_regression'] = _pad_to(results['gt_regression'], H, W, np.nan)
        cached = results.get('teacher_cache', {})
        for k in cached:
            cached[k] = _pad_to(cached[k], H, W, 0)
        win = self._window(H, W)
        if self.cat_max_ratio < 1.0 and 'gt_seg_map' in results:
            for _ in range(10):
                seg = results['gt_seg_map'][win[0] : win[1], win[2] : win[3]]
                labels, cnt = np.unique(seg, return_counts=True)
                cnt = cnt[labels != self.ignore_index]
                if len(cnt) > 1 and cnt.max() / cnt.sum() < self.cat_max_ratio:
                    break
                win = self._window(H, W)
        y0, y1, x0, x1 = win
        if 'img' in results:
            results['img'] = results['img'][y0:y1, x0:x1]
        for k in mods:
            mods[k] = mods[k][y0:y1, x0:x1]
        for key in ('gt_seg_map', 'gt_regression'):
            if key in results:
                results[key] = results[key][y0:y1, x0:x1]
        for k in cached:
            cached[k] = cached[k][y0:y1, x0:x1]
        results['img_shape'] = (ch, cw)
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(crop_size={self.crop_size}, '
            f'cat_max_ratio={self.cat_max_ratio})'
        )
