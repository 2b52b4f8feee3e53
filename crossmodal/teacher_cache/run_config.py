"""Wire a run config to its teacher cache: ``model.teacher_cache`` -> the train pipeline.

:func:`setup_teacher_cache` is called by every tool that loads a run config
(:func:`crossmodal.utils.runner_setup.load_run_config`: ``tools/train.py``, ``tools/test.py``,
``tools/train_stages.py``) and by ``tools/benchmark.py train-step --teacher-cache``. When the model
has ``teacher_cache=<dir>`` it

1. checks the training dataset (data_root, split file contents, meta.json, split name) against
   the cache's manifest (:class:`~crossmodal.teacher_cache.TeacherCacheMismatch` naming what
   differs), and
2. gives the train pipeline a ``LoadTeacherCache(cache_dir=<dir>, taps=<the teacher taps the
   losses use>)`` right after its ``LoadMultiModalFromFile`` (a ``LoadTeacherCache`` already
   there gets the directory when it names none; one naming another directory is an error).

The teachers themselves are checked when the distiller is built.
"""

from __future__ import annotations

import os.path as osp

from .manifest import TeacherCacheError
from .store import TeacherCache

LOADER = 'LoadMultiModalFromFile'
CACHE_LOADER = 'LoadTeacherCache'


def _type(t) -> str:
    k = t.get('type') if isinstance(t, dict) else type(t).__name__
    return k if isinstance(k, str) else getattr(k, '__name__', str(k))


def cache_dir_of(cfg):
    model = cfg.get('model', None)
    return model.get('teacher_cache', None) if isinstance(model, dict) else None


def used_taps(model_cfg) -> tuple:
    """``('<teacher>.<tap>', ...)``: the teacher taps (not logits) the distillation losses use
    (the only cached taps worth loading: each is a C-channel map at the image size)."""
    out = []
    for spec in model_cfg.get('distill_losses') or ():
        teacher, _, tap = str(spec.get('teacher', '')).partition('.')
        if tap and tap != 'logits' and f'{teacher}.{tap}' not in out:
            out.append(f'{teacher}.{tap}')
    return tuple(out)


def setup_teacher_cache(cfg, check_dataset: bool = True):
    """See the module docstring; returns the :class:`TeacherCache` (None without one)."""
    cache_dir = cache_dir_of(cfg)
    if not cache_dir:
        return None
    cache = TeacherCache(cache_dir)
    ds = cfg.train_dataloader.dataset
    if 'pipeline' not in ds or 'data_root' not in ds:
        raise TeacherCacheError(
            f'model.teacher_cache={cache_dir!r}: train_dataloader.dataset must be a dataset with '
            f'data_root and pipeline (dataset wrappers are not supported with a teacher cache)'
        )
    if check_dataset:
        cache.check_dataset(ds.data_root, ds.get('split', 'train'))
    pipeline = list(ds.pipeline)
    found = [t for t in pipeline if _type(t) == CACHE_LOADER]
    for t in found:
        named = t.get('cache_dir')
        if named and osp.realpath(named) != osp.realpath(cache_dir):
            raise TeacherCacheError(
                f'the train pipeline\'s LoadTeacherCache reads {named} but model.teacher_cache is '
                f'{cache_dir}; name one cache (or leave LoadTeacherCache.cache_dir unset)'
            )
        t['cache_dir'] = cache_dir
    if not found:
        where = [i for i, t in enumerate(pipeline) if _type(t) == LOADER]
        if not where:
            raise TeacherCacheError(
                f'model.teacher_cache={cache_dir!r}: the train pipeline has no {LOADER} to put '
                f'{CACHE_LOADER} after'
            )
        pipeline.insert(
            where[0] + 1, dict(type=CACHE_LOADER, cache_dir=cache_dir, taps=used_taps(cfg.model))
        )
    ds.pipeline = pipeline
    return cache
