"""test_results.json / robustness.json are strict JSON: non-finite values are written as null."""

import json
import math
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import crossmodal  # noqa: F401
from crossmodal.evaluation import PerClassIoUMetric
from crossmodal.evaluation.strict_json import dump_strict_json, to_strict_json
from fixtures import TINY_CONFIG_MODEL

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STUDENT = 'configs/students/segformer_mit-t_600it_synthetic-rgbt-128x160.py'


def _strict_load(path):
    def bad(c):
        raise ValueError(f'non-standard JSON constant {c}')

    with open(path) as f:
        return json.loads(f.read(), parse_constant=bad)


def test_to_strict_json_replaces_non_finite(tmp_path):
    obj = {
        'a': float('nan'),
        'b': [np.float32('inf'), -math.inf, 1.5, np.int64(3)],
        'c': (True, None, 's'),
    }
    assert to_strict_json(obj) == {'a': None, 'b': [None, None, 1.5, 3], 'c': [True, None, 's']}
    dump_strict_json(obj, str(tmp_path / 'x.json'))
    assert _strict_load(tmp_path / 'x.json')['a'] is None


def test_tool_writes_null_for_nan_iou(tmp_path, tiny_rgbt, monkeypatch):
    """A class absent from the test set has IoU NaN; the results file must still be strict JSON."""
    import tools.test as tt
    from mmseg.registry import MODELS

    orig = PerClassIoUMetric.compute_metrics

    def with_absent_class(self, results):
        out = orig(self, results)
        out['IoU.absent'] = float('nan')
        return out

    monkeypatch.setattr(PerClassIoUMetric, 'compute_metrics', with_absent_class)
    tiny = TINY_CONFIG_MODEL
    loader = dict(
        batch_size=2, num_workers=0, persistent_workers=False, dataset=dict(data_root=tiny_rgbt)
    )
    path = tmp_path / 's.py'
    path.write_text(
        f"_base_ = ['{osp.join(ROOT, STUDENT)}']\nmodel = {tiny!r}\ntest_dataloader = {loader!r}\n"
        "default_hooks = dict(visualization=dict(type='SegVisualizationHook', draw=False))\n"
    )
    init_default_scope('mmseg')
    torch.manual_seed(0)
    ckpt = tmp_path / 's.pth'
    torch.save(
        dict(state_dict=MODELS.build(Config.fromfile(str(path)).model).state_dict(), meta={}), ckpt
    )
    res = tt.main([str(path), str(ckpt), '--work-dir', str(tmp_path / 'wd')])
    assert math.isnan(res['metrics']['IoU.absent'])
    saved = _strict_load(tmp_path / 'wd' / 'test_results.json')
    assert saved['metrics']['IoU.absent'] is None and isinstance(saved['metrics']['mIoU'], float)
