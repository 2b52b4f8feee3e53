"""Teachers of an offline distillation run: specs from a teacher cache, outputs from the batch.

``DistillSegmentor(teacher_cache=<dir>)`` builds no teacher. :func:`cached_teacher_specs` checks
the config's teachers against the cache's manifest (config hash, checkpoint sha256: a
``TeacherCacheMismatch`` says which differs) and returns the specs the distiller keeps;
:func:`gather_cached_output` turns the data samples' ``teacher_cache_<teacher>`` fields (packed by
``PackMultiModalInputs`` from ``LoadTeacherCache``, moved through the sample's geometric
augmentation) into what a loss receives in place of the teacher's online output.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from ..losses.sparse_targets import SparseLogits, pad_to


def cached_teacher_specs(cache_dir: str, teachers: Dict[str, dict]) -> Dict[str, dict]:
    """``{name: dict(modalities, frozen=True, loss_weight, taps, checkpoint, num_classes,
    cached_taps)}`` of the teachers of a cached run (checked against the manifest; not built)."""
    from crossmodal.teacher_cache import TeacherCache

    if not teachers:
        raise ValueError('DistillSegmentor: teacher_cache needs the teachers it was made from')
    cache = TeacherCache(cache_dir)
    entries = cache.check_teachers(teachers)
    specs = {}
    for name, spec in teachers.items():
        entry = entries[name]
        specs[name] = dict(
            modalities=tuple(spec.get('modalities') or entry['modalities']),
            frozen=True,
            loss_weight=float(spec.get('loss_weight', 1.0)),
            taps=dict(spec.get('taps') or {}),
            checkpoint=entry['checkpoint'],
            num_classes=int(entry['num_classes']),
            cached_taps=tuple(entry.get('taps') or {}),
        )
    return specs


def gather_cached_output(
    name: str,
    tap: str,
    data_samples: Optional[Sequence],
    size: Tuple[int, int],
    spec: dict,
    cache_dir: Optional[str] = None,
):
    """Teacher ``name``'s cached output of a batch, padded bottom/right with zeros to the batch's
    input ``size`` (H, W) like ``stack_batch`` pads the inputs (padded pixels are void in the
    padded label):

    * ``tap='logits'``: :class:`SparseLogits` with (B, k, H, W) values / indices, (B, 1, H, W)
      tail (the losses nearest-resample it to the student's logits);
    * a cached tap: its (B, C, H / s, W / s) feature map: the image-size map average-pooled by the
      tap's stride s (the inverse of the nearest upsampling at load for an unscaled, stride-aligned
      crop; otherwise each output cell averages the cells the augmented view covers).
    """
    field = f'teacher_cache_{name}'
    if not data_samples or not all(hasattr(s, field) for s in data_samples):
        raise KeyError(
            f'DistillSegmentor(teacher_cache={cache_dir!r}): the batch has no cached maps of '
            f'teacher "{name}" (data sample field {field}); the train pipeline needs '
            f'LoadTeacherCache after LoadMultiModalFromFile (tools/train.py inserts it)'
        )
    pds = [getattr(s, field) for s in data_samples]

    def stack(part: str) -> torch.Tensor:
        return torch.cat([pad_to(getattr(p, part)[None], size, 0.0) for p in pds], 0)

    if tap == 'logits':
        return SparseLogits(
            stack('topk_logits').float(),
            stack('topk_classes').long(),
            stack('tail_lse').float(),
            int(spec['num_classes']),
        )
    sh, sw = pds[0].metainfo['tap_strides'][tap]
    kernel = (max(int(round(sh)), 1), max(int(round(sw)), 1))
    return F.avg_pool2d(stack(f'tap_{tap}').float(), kernel, kernel, ceil_mode=True)
