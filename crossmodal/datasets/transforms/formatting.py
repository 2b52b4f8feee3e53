"""``PackMultiModalInputs``: results dict -> ``inputs`` + ``SegDataSample``."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData
from mmseg.registry import TRANSFORMS
from mmseg.structures import SegDataSample

META_KEYS = (
    'img_path',
    'seg_map_path',
    'ori_shape',
    'img_shape',
    'pad_shape',
    'scale_factor',
    'flip',
    'flip_direction',
    'reduce_zero_label',
    'stem',
    'modality_paths',
    'dropped_modalities',
)


def _to_chw(arr: np.ndarray) -> torch.Tensor:
    if arr.ndim == 2:
        arr = arr[..., None]
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def _cache_pixel_data(arr: np.ndarray, layout: dict) -> PixelData:
    """(H, W, 2k + 1 + sum C) cached teacher map -> PixelData(topk_logits, topk_classes,
    tail_lse, tap_*)."""
    t = _to_chw(arr.astype(np.float32))
    k = int(layout['k'])
    fields = dict(
        topk_logits=t[:k], topk_classes=t[k : 2 * k].round().long(), tail_lse=t[2 * k : 2 * k + 1]
    )
    start = 2 * k + 1
    for tap, (channels, _) in layout['taps'].items():
        fields[f'tap_{tap}'] = t[start : start + channels]
        start += channels
    if start != t.shape[0]:
        raise ValueError(
            f'PackMultiModalInputs: cached teacher map has {t.shape[0]} channels, its layout '
            f'{layout} says {start}'
        )
    meta = dict(
        num_classes=int(layout['num_classes']),
        tap_strides={tap: s for tap, (_, s) in layout['taps'].items()},
    )
    return PixelData(metainfo=meta, **fields)


@TRANSFORMS.register_module()
class PackMultiModalInputs(BaseTransform):
    """Pack the modalities as tensors and the label as a ``SegDataSample``.

    Args:
        modalities: names to pack, in order (``'rgb'`` is ``img``); None packs ``rgb`` (when
            loaded) and then every loaded modality in the dataset's order.
        stack: False -> ``inputs = {'rgb': (3,H,W), 'depth': (1,H,W), ...}`` (teachers and
            :class:`MultiModalDataPreprocessor`); True -> one (C,H,W) tensor concatenating the
            modalities in order (stock mmseg students with ``SegDataPreProcessor``; with
            ``modalities=('rgb',)`` this is exactly mmseg's ``PackSegInputs`` in RGB order).
        meta_keys: keys copied to the data sample's metainfo.

    Tensors keep the stored dtype (uint8 RGB, float32 depth in metres); normalisation happens
    in the data preprocessor. Cached teacher maps (``teacher_cache``, :class:`LoadTeacherCache`)
    become the data sample's ``teacher_cache_<teacher>``: a ``PixelData`` with ``topk_logits``
    (k, H, W) float32, ``topk_classes`` (k, H, W) int64, ``tail_lse`` (1, H, W) float32 and
    ``tap_<name>`` (C, H, W) float32, metainfo ``num_classes`` and ``tap_strides``.
    """

    def __init__(
        self,
        modalities: Optional[Sequence[str]] = None,
        stack: bool = False,
        meta_keys: Sequence[str] = META_KEYS,
    ):
        self.modalities = tuple(modalities) if modalities is not None else None
        self.stack = stack
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        tensors = {}
        names = self.modalities
        if names is None:
            names = (('rgb',) if 'img' in results else ()) + tuple(results.get('modalities', {}))
        for m in names:
            if m == 'rgb':
                if 'img' not in results:
                    raise KeyError(
                        'PackMultiModalInputs: "rgb" requested but the sample has no img'
                    )
                tensors[m] = _to_chw(results['img'])
            else:
                mods = results.get('modalities', {})
                if m not in mods:
                    raise KeyError(
                        f'PackMultiModalInputs: modality "{m}" requested but the sample '
                        f'only has {sorted(mods)} (+ rgb); add it to the dataset\'s '
                        f'modalities'
                    )
                tensors[m] = _to_chw(mods[m])
        if self.stack:
            parts = list(tensors.values())
            if len(parts) == 1:
                inputs = parts[0]
            else:
                inputs = torch.cat([p.float() for p in parts], dim=0)
        else:
            inputs = tensors
        sample = SegDataSample()
        if 'gt_seg_map' in results:
            sample.gt_sem_seg = PixelData(
                data=torch.from_numpy(results['gt_seg_map'][None].astype(np.int64))
            )
        if 'gt_regression' in results:
            sample.gt_regression = PixelData(
                data=_to_chw(results['gt_regression'].astype(np.float32))
            )
        layout = results.get('teacher_cache_layout', {})
        for name, arr in results.get('teacher_cache', {}).items():
            sample.set_field(_cache_pixel_data(arr, layout[name]), f'teacher_cache_{name}')
        meta = {k: results[k] for k in self.meta_keys if k in results}
        meta.setdefault('pad_shape', results.get('img_shape'))
        sample.set_metainfo(meta)
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(modalities={self.modalities}, stack={self.stack})'
