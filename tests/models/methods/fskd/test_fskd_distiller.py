"""FSKDDistiller: frozen teacher, loss terms, KD pixel weights (golden), checkpoints, checks."""

import math

import pytest
import torch
from mmseg.registry import MODELS

from crossmodal.models.methods.fskd import student_state_dict
from fskd_helpers import samples, student_cfg, teacher_cfg

DP = dict(type='MultiModalDataPreprocessor', mean=dict(rgb=[100.0] * 4), std=dict(rgb=[50.0] * 4))


def _distiller(tmp_path=None, **kw):
    cfg = dict(
        type='FSKDDistiller', student=student_cfg(), teacher=teacher_cfg(), data_preprocessor=DP
    )
    cfg.update(kw)
    return MODELS.build(cfg)


def _inputs():
    g = torch.Generator().manual_seed(1)
    return {
        'rgb': torch.randn(2, 4, 32, 32, generator=g),
        'lidar': torch.randn(2, 7, 32, 32, generator=g),
    }


def test_teacher_frozen_student_trained(tmp_path):
    torch.manual_seed(0)
    teacher = MODELS.build(
        teacher_cfg(channels=24)
    )  # decoder width 24 vs the student's 16 -> connector
    path = str(tmp_path / 'teacher.pth')
    torch.save({'state_dict': teacher.state_dict(), 'meta': {}}, path)
    d = _distiller(
        teacher=teacher_cfg(channels=24), teacher_checkpoint=path, feature_kd=dict(loss_weight=0.5)
    )
    d.init_weights()  # must not re-initialise the teacher
    for k, v in teacher.state_dict().items():
        assert torch.equal(d.teacher.state_dict()[k], v), k
    assert not any(p.requires_grad for p in d.teacher.parameters())
    d.train()
    assert not d.teacher.training and d.student.training
    before = {k: v.clone() for k, v in d.teacher.state_dict().items()}
    opt = torch.optim.SGD([p for p in d.parameters() if p.requires_grad], lr=0.1)
    losses = d.loss(_inputs(), samples())
    assert {'student.loss_reg_l1', 'distill.loss_kd', 'distill.loss_feat'} <= set(losses)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert all(p.grad is None for p in d.teacher.parameters())
    assert d.student.backbone.layers[0][0].projection.weight.grad.abs().sum() > 0
    assert d.connector.weight.grad is not None
    opt.step()
    for k, v in d.teacher.state_dict().items():  # BN running stats too (teacher stays in eval)
        assert torch.equal(before[k], v), k


def test_lambda_gt_zero_is_pure_kd_and_needs_no_targets():
    d = _distiller(lambda_gt=0.0, lambda_kd=2.0)
    losses = d.loss(_inputs(), None)
    assert set(losses) == {'distill.loss_kd'} and math.isfinite(losses['distill.loss_kd'].item())
    with pytest.raises(ValueError, match='gt_regression'):
        _distiller().loss(_inputs(), None)


def test_kd_pixel_weights_golden():
    d = _distiller(kd_mask_no_data=True, kd_confidence_tau=1.0)
    nan = float('nan')
    # K = 3 (scales 10, 1, 1); two pixels; teacher normalised predictions
    t = torch.tensor([[[[1.0, 2.0]], [[0.5, 0.5]], [[1.0, 1.0]]]])  # (1, 3, 1, 2)
    gt = torch.tensor([[[[15.0, nan]], [[0.5, nan]], [[2.0, 1.0]]]])  # physical
    w = d.kd_weight(t, gt)
    # pixel 0: normalised gt (1.5, 0.5, 2.0): mean |t - y| = (0.5 + 0 + 1) / 3 = 0.5
    # -> exp(-0.5); all valid
    # pixel 1: only FHD valid: |1 - 1| = 0 -> conf 1; but not every target valid -> masked (0)
    assert w.shape == (1, 1, 1, 2)
    assert w[0, 0, 0, 0].item() == pytest.approx(math.exp(-0.5), abs=1e-6)
    assert w[0, 0, 0, 1].item() == 0.0
    d2 = _distiller(kd_confidence_tau=2.0)
    w2 = d2.kd_weight(t, gt)
    assert w2[0, 0, 0, 0].item() == pytest.approx(math.exp(-0.25), abs=1e-6)
    assert w2[0, 0, 0, 1].item() == pytest.approx(1.0)
    assert _distiller().kd_weight(t, gt) is None


def test_predict_runs_the_student_only_on_rgbi():
    d = _distiller()
    d.eval()
    with torch.no_grad():
        out = d.predict({'rgb': torch.randn(1, 4, 32, 32)})
    assert out[0].pred_regression.data.shape == (3, 32, 32)


def test_student_state_dict_loads_into_plain_student():
    d = _distiller()
    plain = MODELS.build(student_cfg())
    missing, unexpected = plain.load_state_dict(student_state_dict(d.state_dict()), strict=True)
    assert not missing and not unexpected


def test_setup_checks():
    with pytest.raises(ValueError, match='target_scales'):
        MODELS.build(
            dict(
                type='FSKDDistiller',
                student=student_cfg(),
                teacher=teacher_cfg(scales=(1.0, 1.0, 1.0)),
                data_preprocessor=DP,
            )
        )
    with pytest.raises(ValueError, match='mean/std'):
        MODELS.build(
            dict(
                type='FSKDDistiller',
                student=student_cfg(mean=(0.0, 0.0, 0.0, 0.0)),
                teacher=teacher_cfg(),
                data_preprocessor=DP,
            )
        )
    with pytest.raises(FileNotFoundError, match='teacher'):
        MODELS.build(
            dict(
                type='FSKDDistiller',
                student=student_cfg(),
                teacher='/nonexistent/teacher.py',
                data_preprocessor=DP,
            )
        )


def test_teacher_checkpoint_mismatch_is_an_error(tmp_path):
    path = str(tmp_path / 'bad.pth')
    torch.save({'state_dict': {'backbone.nope': torch.zeros(1)}}, path)
    with pytest.raises(RuntimeError, match='bad.pth'):
        _distiller(teacher_checkpoint=path)


def test_feature_kd_weight_zero_is_off():
    d = _distiller(feature_kd=dict(loss_weight=0.0))
    assert d.feature_kd is None and not hasattr(d, 'connector')
    assert 'distill.loss_feat' not in d.loss(_inputs(), samples())


def _patch_teacher(monkeypatch, d, nan_rows=None):
    """Teacher returns random (B, 3, 32, 32) predictions, NaN in rows ``nan_rows`` (all if None)."""

    def fake(inputs):
        t = torch.randn(2, 3, 32, 32)
        t[:, :, slice(None) if nan_rows is None else slice(0, nan_rows)] = float('nan')
        return t, torch.zeros(2, 16, 8, 8)

    monkeypatch.setattr(d.teacher, 'forward_regression', fake)


def test_nan_teacher_is_an_error(monkeypatch):
    # before: non-finite teacher pixels were masked as 'no data' -> distill.loss_kd == 0 silently
    d = _distiller()
    _patch_teacher(monkeypatch, d)
    with pytest.raises(FloatingPointError, match=r'teacher FSKDTeacher .* NaN/inf at 5376 of 6144'):
        d.loss(_inputs(), samples())  # 32 - 4 no-data rows = 28 rows x 32 x 3 targets x 2 images
    d = _distiller(lambda_gt=0.0)
    _patch_teacher(monkeypatch, d)
    with pytest.raises(FloatingPointError, match='6144 of 6144 .* no ground truth'):
        d.loss(_inputs(), None)


def test_nan_teacher_where_targets_have_no_data_is_masked(monkeypatch):
    d = _distiller()
    _patch_teacher(monkeypatch, d, nan_rows=4)  # samples() has NaN targets in rows 0..3
    loss = d.loss(_inputs(), samples())['distill.loss_kd']
    assert math.isfinite(loss.item()) and loss.item() > 0


def test_normal_run_gives_finite_nonzero_kd_loss():
    torch.manual_seed(0)
    loss = _distiller().loss(_inputs(), samples())['distill.loss_kd']
    assert math.isfinite(loss.item()) and loss.item() > 0
