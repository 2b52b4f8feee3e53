"""``MultiHeadIoUMetric``: IoU of several prediction fields of one data sample (e.g. RTFDNet's
heads).

RTFDNet's ``predict`` stores ``pred_sem_seg_rgb``, ``pred_sem_seg_x`` and ``pred_sem_seg_fused``;
this metric scores each against ``gt_sem_seg`` and returns ``{metric}_{head}`` (e.g. ``mIoU_rgb``,
``mIoU_x``, ``mIoU_fused``, also ``aAcc_*`` / ``mAcc_*``) plus the unsuffixed values of the
``main`` head so ``save_best='mIoU'`` keeps working. Values are Python floats in percent.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.logging import print_log
from mmseg.evaluation.metrics import IoUMetric
from mmseg.registry import METRICS

DEFAULT_HEADS = OrderedDict(rgb='pred_sem_seg_rgb', x='pred_sem_seg_x', fused='pred_sem_seg_fused')


@METRICS.register_module()
class MultiHeadIoUMetric(IoUMetric):
    """IoU metrics for every head of a multi-head segmentor.

    Args:
        heads: ``{head name: data-sample field}``; default rgb / x / fused as written by
            :class:`~crossmodal.models.methods.rtfdnet.RTFDNet`. A field missing from a sample is an
            error naming the fields the sample has.
        main: head whose metrics are also returned without suffix (default 'fused').
        per_class: also return ``IoU.<class>_<head>`` for every head.
        ignore_index, iou_metrics, nan_to_num, beta, collect_device, prefix: as in ``IoUMetric``.
    """

    def __init__(
        self,
        heads: Optional[Dict[str, str]] = None,
        main: str = 'fused',
        per_class: bool = False,
        ignore_index: int = 255,
        iou_metrics: Sequence[str] = ('mIoU',),
        **kwargs,
    ):
        super().__init__(ignore_index=ignore_index, iou_metrics=list(iou_metrics), **kwargs)
        self.heads = OrderedDict(heads or DEFAULT_HEADS)
        if main not in self.heads:
            raise ValueError(f'main head {main!r} is not one of {list(self.heads)}')
        self.main = main
        self.per_class = per_class

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.dataset_meta['classes'])
        for sample in data_samples:
            label = sample['gt_sem_seg']['data'].squeeze()
            entry = {}
            for head, field in self.heads.items():
                if field not in sample:
                    have = sorted(k for k in sample if k.startswith('pred_sem_seg'))
                    raise KeyError(
                        f'MultiHeadIoUMetric: head {head!r} needs the field {field!r}, but the '
                        f'model only wrote {have}; use PerClassIoUMetric for single-head models'
                    )
                pred = sample[field]['data'].squeeze()
                entry[head] = self.intersect_and_union(
                    pred, label.to(pred.device), num_classes, self.ignore_index
                )
            self.results.append(entry)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        out: Dict[str, float] = {}
        classes = self.dataset_meta['classes']
        for head in self.heads:
            cols = list(zip(*[r[head] for r in results]))
            areas = [
                torch.stack(list(c), 0).sum(0) if isinstance(c[0], torch.Tensor) else sum(c)
                for c in cols
            ]
            total_i, total_u, total_p, total_l = areas
            metrics = self.total_area_to_metrics(
                total_i, total_u, total_p, total_l, self.metrics, self.nan_to_num, self.beta
            )
            summary = {}
            for key, val in metrics.items():
                val = val.numpy() if hasattr(val, 'numpy') else np.asarray(val)
                if key == 'aAcc':
                    summary[key] = float(np.round(val * 100, 2))
                else:
                    summary['m' + key] = float(np.round(np.nanmean(val) * 100, 2))
                    if self.per_class:
                        for name, v in zip(classes, val):
                            out[f'{key}.{name}_{head}'] = float(np.round(v * 100, 2))
            for k, v in summary.items():
                out[f'{k}_{head}'] = v
                if head == self.main:
                    out[k] = v
        heads = ', '.join(f'{k}={v:.2f}' for k, v in out.items() if '_' in k and '.' not in k)
        print_log('per-head: ' + heads, logger='current')
        return out
