"""DHO alpha selection (crossmodal/evaluation/head_mix.py, tools/select_alpha.py): the one-pass
sweep gives, at every alpha, the mIoU that mmseg's own predict path scores with that alpha (so
alpha=1 is the label head alone and alpha=0 the KD head alone), for a plain student and a
distiller; the tool end to end on a tiny generated dataset."""

import copy
import importlib.util
import json
import os
import warnings

import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict

import fixtures
from fixtures import HEADS_2

from crossmodal.evaluation.head_mix import dual_head_student, sweep_alpha

K = 3
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DHO_STUDENT = os.path.join(
    ROOT, 'configs', 'students', 'segformer-dho_mit-t_600it_synthetic-rgbt-128x160.py'
)
DHO_DISTILL = os.path.join(
    ROOT, 'configs', 'distill', 'dho', 'dho_segformer_mit-t_600it_synthetic-rgbt-128x160.py'
)
STOCK_STUDENT = os.path.join(
    ROOT, 'configs', 'students', 'segformer_mit-t_600it_synthetic-rgbt-128x160.py'
)


def dho_student_cfg():
    cfg = fixtures.student_cfg(
        K,
        size=None,
        num_heads=HEADS_2,
        head=dict(fixtures.seg_head(K, 8, HEADS_2), type='DualHeadSegformerHead', alpha=0.5),
    )
    cfg['data_preprocessor']['test_cfg'] = dict(size_divisor=32)  # pads: the crop is exercised
    return ConfigDict(cfg)  # mmseg reads test_cfg.mode as an attribute


def _make_heads_differ(model, student):
    with torch.no_grad():
        torch.manual_seed(7)
        student.decode_head.conv_seg.weight.normal_(std=0.5)
        student.decode_head.conv_seg_kd.weight.normal_(std=0.5)
    return model.eval()


def plain_model():
    model = fixtures.build(dho_student_cfg(), seed=0)
    return _make_heads_differ(model, model)


def stock_batches(seed=0):
    """Two batches of RGB tensors (a stock student's loader), sizes that need padding."""
    out = []
    for i, size in enumerate([(30, 38), (26, 44)]):
        b = fixtures.raw_batch(2, size, ('rgb',), num_classes=K, seed=seed + i, void_rows=2)
        out.append(dict(inputs=[s['rgb'] for s in b['inputs']], data_samples=b['data_samples']))
    return out


def reference_miou(model, batches, alpha):
    """mIoU (%) of mmseg's predict path (``test_step``) with the head's alpha set."""
    from mmseg.evaluation.metrics import IoUMetric

    _, head = dual_head_student(model)
    old, head.alpha = head.alpha, alpha
    areas = [0, 0, 0, 0]
    try:
        for batch in batches:
            with torch.no_grad():
                preds = model.test_step(copy.deepcopy(batch))
            for p in preds:
                a = IoUMetric.intersect_and_union(
                    p.pred_sem_seg.data.squeeze(), p.gt_sem_seg.data.squeeze(), K, 255
                )
                areas = [x + y for x, y in zip(areas, a)]
    finally:
        head.alpha = old
    iou = IoUMetric.total_area_to_metrics(*areas, ['mIoU'])['IoU']
    return float(np.nanmean(np.asarray(iou)) * 100)


def test_sweep_matches_mmseg_predict_at_every_alpha_plain_student():
    model = plain_model()
    batches = stock_batches()
    res = sweep_alpha(model, copy.deepcopy(batches))
    assert res['alphas'] == [0.0, 0.25, 0.5, 0.75, 1.0] and res['num_samples'] == 4
    for a, v in res['mIoU'].items():
        assert v == pytest.approx(reference_miou(model, batches, a), abs=1e-9), a
    # the two heads are really different: alpha=1 (label head) != alpha=0 (KD head)
    assert res['mIoU'][1.0] != res['mIoU'][0.0]
    best = max(res['mIoU'].values())
    assert res['best_mIoU'] == best and res['mIoU'][res['best_alpha']] == best
    assert model.decode_head.alpha == 0.5 and not model.training


def test_sweep_of_a_distiller_scores_its_student():
    from mmengine.registry import DefaultScope

    from crossmodal.models.distill import DistillSegmentor

    teacher = fixtures.teacher_cfg(('rgb', 'thermal'), num_classes=K, num_heads=HEADS_2)
    with DefaultScope.overwrite_default_scope('mmseg'), warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='teacher .* has no checkpoint')
        torch.manual_seed(0)
        model = DistillSegmentor(
            student=dho_student_cfg(),
            teachers=dict(rgbt=dict(config=teacher, checkpoint=None)),
            student_taps=dict(kd_logits='decode_head.conv_seg_kd'),
            distill_losses=[
                dict(type='KDLoss', student='kd_logits', teacher='rgbt.logits', name='loss_kd')
            ],
        )
    _make_heads_differ(model, model.student)
    batches = [
        fixtures.raw_batch(2, (30, 38), ('rgb', 'thermal'), num_classes=K, seed=3),
        fixtures.raw_batch(1, (26, 44), ('rgb', 'thermal'), num_classes=K, seed=4),
    ]
    res = sweep_alpha(model, copy.deepcopy(batches), alphas=[1.0, 0.0, 1.0])
    assert res['alphas'] == [1.0, 0.0] and res['num_samples'] == 3
    assert res['mIoU'][1.0] == pytest.approx(reference_miou(model, batches, 1.0), abs=1e-9)
    assert res['mIoU'][0.0] == pytest.approx(reference_miou(model, batches, 0.0), abs=1e-9)


def test_sweep_refuses_a_stock_head_bad_alphas_and_unlabelled_samples():
    stock = fixtures.build(
        fixtures.student_cfg(K, num_heads=HEADS_2, head=fixtures.seg_head(K, 8, HEADS_2))
    )
    with pytest.raises(ValueError, match='not a DualHeadSegformerHead'):
        sweep_alpha(stock, stock_batches())
    model = plain_model()
    with pytest.raises(ValueError, match='alpha'):
        sweep_alpha(model, stock_batches(), alphas=[0.5, 2.0])
    with pytest.raises(ValueError, match='no samples'):
        sweep_alpha(model, [])
    batch = stock_batches()[0]
    for s in batch['data_samples']:
        del s.gt_sem_seg
    with pytest.raises(ValueError, match='gt_sem_seg'):
        sweep_alpha(model, [batch])


# ---------------------------------------------------------------- tools/select_alpha.py
def _tool():
    spec = importlib.util.spec_from_file_location(
        'tool_select_alpha', os.path.join(ROOT, 'tools', 'select_alpha.py')
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def dho_run(tmp_path_factory):
    """(config, checkpoint, data_root): configs/distill/dho/ on the tiny MiT, a random distiller
    checkpoint (teacher weights included), 10 generated 32x40 frames (2 in the test split). The
    config's teacher checkpoint does not exist: the tool must not need it."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS

    from data_prep.synthetic import generate

    d = tmp_path_factory.mktemp('dho')
    data_root = str(d / 'data')
    generate(data_root, 'rgbt', num=10, height=32, width=40, progress=False)
    student = d / 'student.py'
    student.write_text(f'_base_ = [{DHO_STUDENT!r}]\nmodel = {fixtures.TINY_CONFIG_MODEL!r}\n')
    cfg_path = d / 'dho.py'
    cfg_path.write_text(
        f'_base_ = [{DHO_DISTILL!r}]\n'
        f"model = dict(student={str(student)!r}, "
        f"teachers=dict(rgbt=dict(checkpoint={str(d / 'missing_teacher.pth')!r})))\n"
        'val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)\n'
        'test_dataloader = val_dataloader\n'
    )
    cfg = Config.fromfile(str(cfg_path))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.teachers.rgbt.checkpoint = None
    with DefaultScope.overwrite_default_scope('mmseg'), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.manual_seed(0)
        model = MODELS.build(model_cfg)
    with torch.no_grad():
        model.student.decode_head.conv_seg_kd.weight.normal_(std=0.5)
    ckpt = str(d / 'iter_4.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    return str(cfg_path), ckpt, data_root


def test_select_alpha_tool_smoke(dho_run, capsys):
    cfg, ckpt, data_root = dho_run
    out = _tool().main(
        [cfg, ckpt, '--data-root', data_root, '--alphas', '0', '0.5', '1', '--no-progress']
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(out))
    assert set(out['mIoU']) == {'0', '0.5', '1'} and out['num_samples'] == 2
    assert out['best_alpha'] in (0.0, 0.5, 1.0) and out['config_alpha'] == 0.5
    assert out['config_alpha_mIoU'] == out['mIoU']['0.5']
    assert all(0.0 <= v <= 100.0 for v in out['mIoU'].values())


def test_select_alpha_tool_refuses_a_student_without_dual_head(dho_run, tmp_path):
    _, _, data_root = dho_run
    cfg = tmp_path / 'stock.py'
    cfg.write_text(f'_base_ = [{STOCK_STUDENT!r}]\nmodel = {fixtures.TINY_CONFIG_MODEL!r}\n')
    from mmengine.config import Config

    model = fixtures.build(Config.fromfile(str(cfg)).model, seed=0)
    ckpt = str(tmp_path / 'stock.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    with pytest.raises(ValueError, match='not a DualHeadSegformerHead'):
        _tool().main([str(cfg), ckpt, '--data-root', data_root, '--no-progress'])
