"""MultiHeadIoUMetric: per-head mIoU on a hand-computed case."""

import pytest
import torch

from crossmodal.evaluation import MultiHeadIoUMetric


def _sample(gt, **preds):
    s = {'gt_sem_seg': {'data': torch.tensor([gt])}}
    for k, v in preds.items():
        s[k] = {'data': torch.tensor([v])}
    return s


def test_three_heads_hand_computed():
    metric = MultiHeadIoUMetric()
    metric.dataset_meta = dict(classes=('a', 'b'))
    gt = [[0, 0, 1, 255]]
    # rgb perfect; x predicts all 0 -> IoU a = 2/3, b = 0; fused: [0,1,1] -> a = 1/2, b = 1/2
    samples = [
        _sample(
            gt,
            pred_sem_seg_rgb=[[0, 0, 1, 1]],
            pred_sem_seg_x=[[0, 0, 0, 0]],
            pred_sem_seg_fused=[[0, 1, 1, 0]],
            pred_sem_seg=[[0, 1, 1, 0]],
        )
    ]
    metric.process({}, samples)
    res = metric.compute_metrics(metric.results)
    assert res['mIoU_rgb'] == pytest.approx(100.0)
    assert res['mIoU_x'] == pytest.approx(round(100 * (2 / 3 + 0) / 2, 2))
    assert res['mIoU_fused'] == pytest.approx(50.0)
    assert res['mIoU'] == res['mIoU_fused']
    assert res['aAcc_x'] == pytest.approx(round(100 * 2 / 3, 2))


def test_missing_head_field_is_a_clear_error():
    metric = MultiHeadIoUMetric(main='rgb')
    metric.dataset_meta = dict(classes=('a', 'b'))
    with pytest.raises(KeyError, match='pred_sem_seg_x'):
        metric.process({}, [_sample([[0]], pred_sem_seg_rgb=[[0]], pred_sem_seg=[[0]])])
    with pytest.raises(ValueError, match='main'):
        MultiHeadIoUMetric(main='depth')
