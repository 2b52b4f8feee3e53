"""Per-sample files of a teacher cache and :class:`TeacherCache`, the reader.

Layout::

    <cache_dir>/manifest.json            (crossmodal.teacher_cache.manifest)
    <cache_dir>/samples/<stem>.npz       one file per training sample, numpy ``.npz`` (no pickle)

Arrays of one sample file, per teacher ``<t>`` (at the teacher's logits resolution h x w, e.g.
H/4 x W/4 for SegFormer; ``k`` = the manifest's ``topk``):

* ``<t>.values``: (k, h, w) float16, the k largest logits of every pixel, descending;
* ``<t>.indices``: (k, h, w) uint8 (K <= 256 classes) or int16, their class indices;
* ``<t>.tail``: (1, h, w) float16, log-sum-exp of the K - k other logits (``-inf`` if k = K);
  it gives the residual probability mass 1 - sum(top-k) of
  :mod:`crossmodal.models.losses.sparse_targets`;
* ``<t>.tap.<name>``: (C, h', w') float16, a tapped teacher feature map (optional).

Files are written to ``<file>.tmp`` and renamed when complete (:func:`write_sample`), so an
interrupted run never leaves a half-written sample; a re-run skips samples already there.
"""

from __future__ import annotations

import os
import os.path as osp
import zipfile
from typing import Dict, Mapping, Optional

import numpy as np

from .manifest import (
    TeacherCacheError,
    check_dataset,
    check_teacher,
    config_sha256,
    read_manifest,
)

SAMPLES_DIR = 'samples'


def sample_file(stem: str) -> str:
    """Path of a sample's file relative to the cache dir."""
    return osp.join(SAMPLES_DIR, f'{stem}.npz')


def index_dtype(num_classes: int):
    return np.uint8 if num_classes <= 256 else np.int16


def write_sample(path: str, arrays: Mapping[str, np.ndarray]) -> int:
    """Write ``arrays`` to ``path`` (.npz) atomically; returns the file size in bytes."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = f'{path}.tmp.{os.getpid()}'
    with open(tmp, 'wb') as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return osp.getsize(path)


def read_sample(path: str, stem: str = '') -> Dict[str, np.ndarray]:
    """All arrays of one sample file; an unreadable / truncated file is a
    :class:`TeacherCacheError` naming the file (and the sample)."""
    if not osp.isfile(path):
        raise TeacherCacheError(
            f'teacher cache file of sample "{stem}" is missing: {path} (the cache run was '
            f'interrupted? re-run tools/cache_teacher.py with the same --out to complete it)'
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
        raise TeacherCacheError(
            f'corrupt teacher cache file {path} (sample "{stem}"): {type(e).__name__}: {e}; '
            f'delete it and re-run tools/cache_teacher.py with the same --out'
        ) from e


class TeacherCache:
    """Read access to a teacher cache directory (manifest checks + per-sample arrays).

    Args:
        cache_dir: the directory ``tools/cache_teacher.py --out`` wrote.

    Raises ``TeacherCacheError`` for a missing / corrupt / foreign / incomplete manifest.
    """

    def __init__(self, cache_dir: str) -> None:
        self.cache_dir = str(cache_dir)
        self.manifest = read_manifest(self.cache_dir)
        if not self.manifest.get('complete'):
            raise TeacherCacheError(
                f'teacher cache {self.cache_dir} is incomplete '
                f'({len(self.manifest.get("samples") or {})} samples written): its '
                f'tools/cache_teacher.py run did not finish; re-run it with the same --out'
            )
        self.samples: Dict[str, dict] = dict(self.manifest.get('samples') or {})

    @property
    def topk(self) -> int:
        return int(self.manifest['topk'])

    @property
    def teachers(self) -> Dict[str, dict]:
        return dict(self.manifest.get('teachers') or {})

    def check_teachers(self, teachers: Mapping[str, Mapping], cfg_prefix='model.teachers'):
        """Check every teacher spec (``config``, ``checkpoint``) of a distiller against the
        manifest without building the teacher; returns ``{name: manifest entry}``."""
        from crossmodal.models.distill.teachers import model_config
        from crossmodal.utils.checkpoint_paths import resolve_trained_checkpoint

        out = {}
        for name, spec in teachers.items():
            if 'config' not in spec:
                raise ValueError(f'teacher "{name}": needs config=<path or dict>')
            cfg_sha = config_sha256(model_config(spec['config'], f'teacher "{name}"'))
            key = f'{cfg_prefix}.{name}.checkpoint'
            ckpt = spec.get('checkpoint')
            if ckpt:
                ckpt = resolve_trained_checkpoint(ckpt, f'teacher "{name}"', key)
            out[name] = check_teacher(self.cache_dir, self.manifest, name, cfg_sha, ckpt, key)
        return out

    def check_dataset(self, data_root: str, split: str) -> None:
        check_dataset(self.cache_dir, self.manifest, data_root, split)

    def path_of(self, stem: str) -> str:
        if stem not in self.samples:
            raise TeacherCacheError(
                f'sample "{stem}" is not in the teacher cache {self.cache_dir} '
                f'({len(self.samples)} samples of split "{self.manifest.get("split")}"); the '
                f'cache was made from another split or dataset version: re-run '
                f'tools/cache_teacher.py'
            )
        return osp.join(self.cache_dir, self.samples[stem]['file'])

    def load(self, stem: str, teachers: Optional[Mapping[str, object]] = None) -> Dict[str, dict]:
        """``{teacher: {'values', 'indices', 'tail', 'taps': {name: array}}}`` of one sample
        (numpy arrays as stored); a missing array is an error naming the file."""
        path = self.path_of(stem)
        arrays = read_sample(path, stem)
        out = {}
        for name in teachers if teachers is not None else self.teachers:
            entry = {}
            for part in ('values', 'indices', 'tail'):
                key = f'{name}.{part}'
                if key not in arrays:
                    raise TeacherCacheError(
                        f'corrupt teacher cache file {path} (sample "{stem}"): no array "{key}" '
                        f'(it has {sorted(arrays)})'
                    )
                entry[part] = arrays[key]
            prefix = f'{name}.tap.'
            entry['taps'] = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
            k, h, w = entry['values'].shape
            if entry['indices'].shape != (k, h, w) or entry['tail'].shape != (1, h, w):
                raise TeacherCacheError(
                    f'corrupt teacher cache file {path} (sample "{stem}"): teacher "{name}" '
                    f'arrays of shapes {entry["values"].shape}, {entry["indices"].shape}, '
                    f'{entry["tail"].shape}'
                )
            out[name] = entry
        return out
