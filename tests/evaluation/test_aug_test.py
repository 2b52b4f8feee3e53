"""Multi-scale + flip testing (crossmodal/evaluation/aug_test.py, tools/test.py --aug-test)."""

import json
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import crossmodal  # noqa: F401
from crossmodal.evaluation.aug_test import MultiScaleFlipAugModel
from crossmodal.models.data_preprocessor import MultiModalDataPreprocessor
from fixtures import TINY_CONFIG_MODEL

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = TINY_CONFIG_MODEL
TEACHER = 'configs/teachers/rgbx-sff-segformer_mit-t_600it_synthetic-rgbt-128x160.py'
STUDENT = 'configs/students/segformer_mit-t_600it_synthetic-rgbt-128x160.py'
RTFDNET = 'configs/distill/rtfdnet/rtfdnet_mit-t_600it_synthetic-rgbt-128x160.py'


def _build(base):
    from mmseg.registry import MODELS

    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(ROOT, base))
    cfg.merge_from_dict(dict(model=TINY))
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval()


def _batch(dict_inputs, h=64, w=80, n=2):
    g = torch.Generator().manual_seed(1)
    samples = []
    for _ in range(n):
        s = SegDataSample(
            metainfo=dict(ori_shape=(h + 5, w + 7), img_shape=(h, w), pad_shape=(h, w))
        )
        s.gt_sem_seg = PixelData(data=torch.zeros(1, h + 5, w + 7, dtype=torch.long))
        samples.append(s)
    rgb = [torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8) for _ in range(n)]
    if not dict_inputs:
        return dict(inputs=rgb, data_samples=samples)
    th = [torch.rand(1, h, w, generator=g) * 255 for _ in range(n)]
    return dict(inputs=dict(rgb=rgb, thermal=th), data_samples=samples)


def _clone(batch):
    import copy

    return copy.deepcopy(batch)


@pytest.mark.parametrize(
    'base,dict_inputs',
    [(STUDENT, False), (TEACHER, True), (RTFDNET, True)],
    ids=['student', 'teacher', 'rtfdnet'],
)
def test_single_scale_no_flip_equals_predict(base, dict_inputs):
    model = _build(base)
    batch = _batch(dict_inputs)
    with torch.no_grad():
        ref = model.test_step(_clone(batch))
        aug = MultiScaleFlipAugModel(module=model, scales=(1.0,), flip=False).eval()
        out = aug.test_step(_clone(batch))
    fields = [k for k in ref[0].keys() if k.startswith('pred_sem_seg')]
    assert len(fields) == (4 if base == RTFDNET else 1)
    for r, o in zip(ref, out):
        assert tuple(o.pred_sem_seg.data.shape) == (1, 69, 87)  # scored at ori_shape
        for f in fields:
            assert torch.equal(r.get(f).data, o.get(f).data), f
        p = o.seg_logits.data
        assert torch.allclose(p.sum(0), torch.ones_like(p[0]), atol=1e-5)  # averaged probabilities


def test_multi_scale_flip_runs_on_every_model_kind():
    for base, d in ((STUDENT, False), (TEACHER, True)):
        aug = MultiScaleFlipAugModel(module=_build(base), scales=(0.75, 1.25), flip=True).eval()
        with torch.no_grad():
            out = aug.test_step(_batch(d, n=1))
        assert tuple(out[0].pred_sem_seg.data.shape) == (1, 69, 87)


class PointwiseSeg(BaseModel):
    """Per-pixel (1x1 conv) segmentor over rgb + thermal: logits are exactly flip-equivariant."""

    def __init__(self):
        super().__init__(
            data_preprocessor=MultiModalDataPreprocessor(
                mean=dict(rgb=[120.0, 110.0, 100.0], thermal=[100.0]),
                std=dict(rgb=[60.0, 60.0, 60.0], thermal=[50.0]),
            )
        )
        torch.manual_seed(0)
        self.rgb, self.th = nn.Conv2d(3, 5, 1), nn.Conv2d(1, 5, 1)
        self.align_corners = False

    def inference(self, inputs, batch_img_metas):
        return self.rgb(inputs['rgb']) + self.th(inputs['thermal'])

    def forward(self, inputs, data_samples=None, mode='predict'):
        raise NotImplementedError


def test_flip_of_flip_equivariant_model_changes_nothing():
    model = PointwiseSeg().eval()
    batch = _batch(True)
    with torch.no_grad():
        single = MultiScaleFlipAugModel(module=model, scales=(1.0,), flip=False).test_step(
            _clone(batch)
        )
        flipped = MultiScaleFlipAugModel(module=model, scales=(1.0,), flip=True).test_step(
            _clone(batch)
        )
        data = model.data_preprocessor(_clone(batch), False)
        direct = model.inference(data['inputs'], None)
    for s, f, d in zip(single, flipped, direct):
        assert torch.equal(s.pred_sem_seg.data, f.pred_sem_seg.data)
        assert torch.allclose(s.seg_logits.data, f.seg_logits.data, atol=1e-6)
        ref = torch.nn.functional.interpolate(
            d[None], size=(69, 87), mode='bilinear', align_corners=False
        )
        assert torch.equal(s.pred_sem_seg.data, ref[0].argmax(0, keepdim=True))


def test_unsupported_model_is_a_clear_error():
    class NoInference(BaseModel):
        def forward(self, *a, **k):
            pass

    with pytest.raises(TypeError, match='NoInference has no inference'):
        MultiScaleFlipAugModel(module=NoInference())


def _write(tmp_path, base, root, name):
    loader = dict(
        batch_size=2, num_workers=0, persistent_workers=False, dataset=dict(data_root=root)
    )
    path = tmp_path / f'{name}.py'
    path.write_text(
        f"_base_ = ['{osp.join(ROOT, base)}']\nmodel = {TINY!r}\ntest_dataloader = {loader!r}\n"
        "default_hooks = dict(visualization=dict(type='SegVisualizationHook', draw=False))\n"
    )
    model = _build(base)
    ckpt = tmp_path / f'{name}.pth'
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    return str(path), str(ckpt)


def _strict_load(path):
    def bad(c):
        raise ValueError(f'non-standard JSON constant {c}')

    with open(path) as f:
        return json.loads(f.read(), parse_constant=bad)


def test_tool_aug_test_end_to_end(tmp_path, tiny_rgbt):
    import tools.test as tt

    cfg, ckpt = _write(tmp_path, TEACHER, tiny_rgbt, 'teacher')
    plain = tt.main([cfg, ckpt, '--work-dir', str(tmp_path / 'a')])
    same = tt.main(
        [
            cfg,
            ckpt,
            '--work-dir',
            str(tmp_path / 'b'),
            '--aug-test',
            '--aug-scales',
            '1.0',
            '--no-flip',
        ]
    )
    assert same['aug_test'] == dict(scales=[1.0], flip=False) and plain['aug_test'] is None
    assert same['metrics'] == plain['metrics']
    assert same['model'] == 'MultiModalEncoderDecoder' and same['num_params'] == plain['num_params']
    cfg, ckpt = _write(tmp_path, STUDENT, tiny_rgbt, 'student')
    ms = tt.main([cfg, ckpt, '--work-dir', str(tmp_path / 'c'), '--aug-test', '--drop', 'rgb'])
    assert ms['aug_test'] == dict(scales=[0.5, 0.75, 1.0, 1.25, 1.5, 1.75], flip=True)
    assert ms['dropped_modalities'] == ['rgb'] and 'mIoU' in ms['metrics']
    assert (
        _strict_load(tmp_path / 'c' / 'test_results_drop-rgb_aug-test.json')['aug_test']['flip']
        is True
    )


def test_tool_rejects_bad_scales(tmp_path):
    import tools.test as tt

    with pytest.raises(SystemExit):
        tt.parse_args(['c.py', 'k.pth', '--aug-test', '--aug-scales', '1.0,x'])
    with pytest.raises(SystemExit):
        tt.parse_args(['c.py', 'k.pth', '--aug-test', '--aug-scales', '0,1'])
