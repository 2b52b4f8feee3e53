"""Golden tests of RegressionMetric (numbers worked by hand)."""

import math
import os

import pytest
import torch

import crossmodal  # noqa: F401  (registers the modules)
from mmseg.registry import METRICS
from mmengine.structures import PixelData

NAN = float('nan')


def sample(pred, gt, as_pixeldata=False, path=None):
    p, g = torch.tensor(pred, dtype=torch.float32), torch.tensor(gt, dtype=torch.float32)
    if as_pixeldata:
        d = {
            'pred_regression': PixelData(data=p).to_dict(),
            'gt_regression': PixelData(data=g).to_dict(),
        }
    else:
        d = {'pred_regression': p, 'gt_regression': g}
    if path:
        d['img_path'] = path
    return d


def test_golden_single_target():
    m = METRICS.build(dict(type='RegressionMetric', target_names=['chm'], canopy_threshold=2.0))
    # pred 1, 2, 3, 5 vs ref 1, 3, 2, NaN -> valid pairs d = (0, -1, 1)
    # MAE 2/3, MedAE 1, RMSE sqrt(2/3), bias 0; ref mean 2, SS_tot 2, SS_res 2 -> R2 0
    # pred dev (-1, 0, 1), ref dev (-1, 1, 0): cov 1/3, var 2/3 each -> r = 0.5
    # canopy (>= 2 m): pred (F, T, T), ref (F, T, T) -> IoU 1
    m.process(
        {}, [sample([[[1.0, 2.0], [3.0, 5.0]]], [[[1.0, 3.0], [2.0, NAN]]], as_pixeldata=True)]
    )
    res = m.evaluate(1)
    assert res['chm_MAE'] == pytest.approx(2 / 3)
    assert res['chm_MedAE'] == pytest.approx(1.0)
    assert res['chm_RMSE'] == pytest.approx(math.sqrt(2 / 3))
    assert res['chm_bias'] == pytest.approx(0.0)
    assert res['chm_R2'] == pytest.approx(0.0)
    assert res['chm_r'] == pytest.approx(0.5)
    assert res['chm_canopy_IoU'] == pytest.approx(1.0)
    assert res['n_pixels_chm'] == 3


def test_canopy_threshold_and_two_samples():
    m = METRICS.build(
        dict(type='RegressionMetric', target_names=['chm', 'pai'], canopy_threshold=2.5)
    )
    # sample 1 chm: pred (1, 2, 3) ref (1, 3, 2): canopy >= 2.5 pred (F, F, T), ref (F, T, F)
    # sample 2 chm: pred 4 ref 5 -> both canopy. IoU = 1 / 3
    # pai: pred (0, 0, 0 | 1) ref (1, 1, 1 | 1): d = -1, -1, -1, 0 -> MAE 0.75, bias -0.75,
    # RMSE sqrt(3/4); ref constant -> R2 and r are NaN
    m.process(
        {}, [sample([[[1.0, 2.0, 3.0]], [[0.0, 0.0, 0.0]]], [[[1.0, 3.0, 2.0]], [[1.0, 1.0, 1.0]]])]
    )
    m.process({}, [sample([[[4.0]], [[1.0]]], [[[5.0]], [[1.0]]])])
    res = m.evaluate(2)
    assert res['chm_canopy_IoU'] == pytest.approx(1 / 3)
    assert res['pai_MAE'] == pytest.approx(0.75) and res['pai_bias'] == pytest.approx(-0.75)
    assert res['pai_RMSE'] == pytest.approx(math.sqrt(0.75))
    assert math.isnan(res['pai_R2']) and math.isnan(res['pai_r'])
    assert 'pai_canopy_IoU' not in res
    # bias sign: chm d = (0, -1, 1, -1) -> -0.25
    assert res['chm_bias'] == pytest.approx(-0.25)


def test_nan_prediction_is_masked_and_plots_saved(tmp_path):
    out = str(tmp_path / 'plots')
    m = METRICS.build(
        dict(type='RegressionMetric', target_names=['chm'], out_dir=out, max_error_maps=1)
    )
    m.process(
        {},
        [
            sample([[[NAN, 2.0]]], [[[1.0, 4.0]]], path='/x/tile_a.png'),
            sample([[[3.0, 3.0]]], [[[3.0, 3.0]]], path='/x/tile_b.png'),
        ],
    )
    res = m.evaluate(2)
    # valid: (2 vs 4), (3 vs 3), (3 vs 3) -> MAE 2/3
    assert res['chm_MAE'] == pytest.approx(2 / 3) and res['n_pixels_chm'] == 3
    assert os.path.isfile(os.path.join(out, 'scatter_chm.png'))
    assert os.listdir(os.path.join(out, 'errors')) == ['tile_a_chm.png']


def test_contract_errors():
    m = METRICS.build(dict(type='RegressionMetric', target_names=['chm', 'pai']))
    with pytest.raises(ValueError, match='2 channels|channels but target_names'):
        m.process({}, [sample([[[1.0]]], [[[1.0]]])])
    with pytest.raises(KeyError, match='gt_regression'):
        m.process({}, [{'pred_regression': torch.zeros(2, 1, 1)}])
    with pytest.raises(ValueError, match='canopy_target'):
        METRICS.build(dict(type='RegressionMetric', target_names=['pai']))
