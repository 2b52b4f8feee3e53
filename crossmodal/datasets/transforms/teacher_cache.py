"""``LoadTeacherCache``: a sample's cached teacher maps, ready to follow its geometric transforms.

Offline distillation (docs/teacher_cache.md): ``tools/cache_teacher.py`` stored, per training
sample, each teacher's top-k logits at the logits' resolution (h x w, e.g. H/4 x W/4). This
transform loads them (right after :class:`LoadMultiModalFromFile`, before any geometric
transform) and brings them to the image's pixel grid by **nearest-exact** upsampling (pixel
(i, j) takes the logit pixel whose cell it lies in: ``floor((i + 0.5) * h / H)``; for a stride of
4 each logit pixel becomes a 4 x 4 block), so that they are one more per-pixel map of the sample:

    results['teacher_cache'] = {teacher: float32 (H, W, 2k + 1 + sum C_tap)}
        channels: k top-k logits | k class indices (exact in float32) | 1 tail log-sum-exp |
                  each cached tap's C channels (nearest-upsampled the same way)
    results['teacher_cache_layout'] = {teacher: dict(k, num_classes, taps={tap: (C, stride)})}

Keeping values, indices and tail in one array guarantees that every geometric transform resamples
them identically: :class:`JointGeometricAug` treats each entry as a mask (nearest, like the label),
:class:`MultiModalRandomCrop` pads (0; padded pixels are void in the label) and crops at the
sample's window, :class:`MultiModalResize` resizes it with nearest; photometric transforms and
:class:`ModalityDropout` never see it. :class:`PackMultiModalInputs` splits it into the data
sample's ``teacher_cache_<teacher>`` (``PixelData`` with ``topk_logits``, ``topk_classes``,
``tail_lse`` (k, k, 1 channels) and ``tap_<name>``), which ``DistillSegmentor(teacher_cache=...)``
turns into :class:`~crossmodal.models.losses.sparse_targets.SparseLogits`.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from crossmodal.teacher_cache.manifest import TeacherCacheError


def nearest_rows(src: int, dst: int) -> np.ndarray:
    """(dst,) source indices of a nearest-exact resampling from ``src`` to ``dst`` pixels (the same
    rule as :func:`crossmodal.models.losses.sparse_targets.nearest_index`)."""
    idx = np.floor((np.arange(dst, dtype=np.float64) + 0.5) * src / dst).astype(np.int64)
    return np.clip(idx, 0, src - 1)


def upsample_nearest(chw: np.ndarray, h: int, w: int) -> np.ndarray:
    """(C, h', w') -> (h, w, C) float32 by nearest-exact sampling."""
    rows = nearest_rows(chw.shape[1], h)
    cols = nearest_rows(chw.shape[2], w)
    return np.ascontiguousarray(chw.astype(np.float32)[:, rows][:, :, cols].transpose(1, 2, 0))


@TRANSFORMS.register_module()
class LoadTeacherCache(BaseTransform):
    """Load the cached teacher maps of a sample (module docstring).

    Args:
        cache_dir: the directory ``tools/cache_teacher.py --out`` wrote. ``tools/train.py`` fills
            it in (and inserts this transform) from ``model.teacher_cache`` when it is None.
        teachers: teachers to load (None: every teacher of the cache).
        taps: cached taps to load, as ``<teacher>.<tap>`` or ``<tap>`` (None: every cached tap;
            ``()``: none; taps are C-channel maps at the image size, so load only those a loss
            uses).

    Required keys: ``stem``, ``img_shape`` (the loaded size). Added: ``teacher_cache``,
    ``teacher_cache_layout``.

    Raises:
        TeacherCacheError: the sample is not in the cache (naming it), its file is missing or
            corrupt (naming the file), or it was cached at another image size.
    """

    def __init__(
        self,
        cache_dir: Optional[str] = None,
        teachers: Optional[Sequence[str]] = None,
        taps: Optional[Sequence[str]] = None,
    ) -> None:
        self.cache_dir = cache_dir
        self.teachers = tuple(teachers) if teachers is not None else None
        self.taps = tuple(taps) if taps is not None else None
        self._cache = None

    @property
    def cache(self):
        if self._cache is None:
            if not self.cache_dir:
                raise TeacherCacheError(
                    'LoadTeacherCache has no cache_dir: set it, or set model.teacher_cache and '
                    'run tools/train.py (which fills it in)'
                )
            from crossmodal.teacher_cache import TeacherCache

            self._cache = TeacherCache(self.cache_dir)
        return self._cache

    def _wants_tap(self, teacher: str, tap: str) -> bool:
        return self.taps is None or tap in self.taps or f'{teacher}.{tap}' in self.taps

    def transform(self, results: dict) -> dict:
        cache = self.cache
        stem = results['stem']
        names = self.teachers if self.teachers is not None else tuple(cache.teachers)
        loaded = cache.load(stem, names)
        h, w = results['img_shape'][:2]
        want = cache.samples[stem].get('image_shape')
        if want is not None and tuple(want) != (h, w):
            raise TeacherCacheError(
                f'teacher cache {cache.cache_dir}: sample "{stem}" was cached at image size '
                f'{tuple(want)} but loads at {(h, w)} now; re-run tools/cache_teacher.py'
            )
        maps, layout = {}, {}
        for name, entry in loaded.items():
            k = entry['values'].shape[0]
            parts = [entry['values'], entry['indices'], entry['tail']]
            taps = {}
            for tap, arr in entry['taps'].items():
                if self._wants_tap(name, tap):
                    parts.append(arr)
                    taps[tap] = (int(arr.shape[0]), (h / arr.shape[1], w / arr.shape[2]))
            if any(p.shape[1:] != parts[0].shape[1:] for p in parts):  # taps at other strides
                maps[name] = np.concatenate([upsample_nearest(p, h, w) for p in parts], axis=-1)
            else:  # one gather for all channels
                maps[name] = upsample_nearest(np.concatenate(parts, axis=0), h, w)
            layout[name] = dict(
                k=int(k), num_classes=int(cache.teachers[name]['num_classes']), taps=taps
            )
        results['teacher_cache'] = maps
        results['teacher_cache_layout'] = layout
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(cache_dir={self.cache_dir!r}, teachers={self.teachers}, '
            f'taps={self.taps})'
        )
