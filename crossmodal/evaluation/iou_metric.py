"""``PerClassIoUMetric``: mmseg's IoUMetric plus per-class IoU in the returned metrics.

mmseg's ``IoUMetric`` prints the per-class table but returns only the summary (aAcc, mIoU, mAcc)
as numpy scalars. This subclass also returns ``IoU.<class>`` / ``Acc.<class>`` and converts every
value to a Python float, so ``tools/test.py`` can write them to JSON and checkpoints hold no
numpy objects.
"""

from __future__ import annotations

from typing import Dict, List

import numpy as np
from mmseg.evaluation.metrics import IoUMetric
from mmseg.registry import METRICS


@METRICS.register_module()
class PerClassIoUMetric(IoUMetric):
    """IoUMetric returning summary and per-class values as floats (percent)."""

    def compute_metrics(self, results: List) -> Dict[str, float]:
        summary = super().compute_metrics(results)
        if self.format_only or not results:
            return summary
        cols = tuple(zip(*results))
        per_class = self.total_area_to_metrics(
            sum(cols[0]),
            sum(cols[1]),
            sum(cols[2]),
            sum(cols[3]),
            self.metrics,
            self.nan_to_num,
            self.beta,
        )
        out = {k: float(v) for k, v in summary.items()}
        classes = self.dataset_meta['classes']
        for key in ('IoU', 'Acc'):
            vals = per_class.get(key)
            if vals is None:
                continue
            vals = vals.numpy() if hasattr(vals, 'numpy') else np.asarray(vals)
            for name, v in zip(classes, vals):
                out[f'{key}.{name}'] = float(np.round(v * 100, 2))
        return out
