"""DistillSegmentor on batches mixing labelled and unlabelled samples (MixedLabelDataset): the
supervised loss learns from labelled samples only, distillation from every sample."""

import copy

import pytest
import torch
from mmengine.structures import PixelData
from torch.nn.modules.batchnorm import _BatchNorm

from crossmodal.models.distill import DistillSegmentor
from crossmodal.models.distill.mixed_batches import distill_target, labelled_flags
from crossmodal.models.losses import DKDLoss, KDLoss

from distill_helpers import make_batch, student_cfg, teacher_cfg


def build(teacher_ckpt, losses=None):
    return DistillSegmentor(
        student=student_cfg(),
        teachers=dict(rgbt=dict(config=teacher_cfg(), checkpoint=teacher_ckpt)),
        distill_losses=losses or [dict(type='KDLoss', tau=2.0, student='logits',
                                       teacher='rgbt.logits')],
    )


def mixed_batch(labelled=(True, False), void_rows=0):
    """A raw batch whose unlabelled samples look as MixedLabelDataset packs them: an all-255
    label and metainfo labelled=False."""
    batch = make_batch(n=len(labelled))
    for s, lab in zip(batch['data_samples'], labelled):
        if not lab:
            s.gt_sem_seg = PixelData(data=torch.full_like(s.gt_sem_seg.data, 255))
        elif void_rows:
            s.gt_sem_seg.data[:, :void_rows] = 255
        s.set_metainfo(dict(labelled=lab))
    return batch


def losses_and_input_grads(model, batch, keys):
    """Losses of one step and, per loss key, d(loss)/d(rgb input) of every sample (B, 3, H, W).
    BatchNorm layers run with their running statistics so samples do not interact."""
    model.train()
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.eval()
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    inputs = dict(data['inputs'])
    inputs['rgb'] = inputs['rgb'].detach().requires_grad_(True)
    losses = model.loss(inputs, data['data_samples'])
    grads = {}
    for k in keys:
        (g,) = torch.autograd.grad(losses[k], inputs['rgb'], retain_graph=True)
        grads[k] = g
    return losses, grads


def test_unlabelled_sample_gets_no_supervised_gradient_but_a_distillation_one(teacher_ckpt):
    model = build(teacher_ckpt)
    losses, grads = losses_and_input_grads(
        model, mixed_batch((True, False)), ['student.decode.loss_ce', 'distill.loss_kd']
    )
    ce, kd = grads['student.decode.loss_ce'], grads['distill.loss_kd']
    assert ce[0].abs().sum() > 0  # the labelled sample trains the supervised head
    assert torch.equal(ce[1], torch.zeros_like(ce[1]))  # exactly no supervised signal
    assert kd[0].abs().sum() > 0 and kd[1].abs().sum() > 0  # the teacher teaches on both
    assert float(losses['batch.labelled']) == 0.5
    total, log_vars = model.parse_losses(losses)  # logged, never summed into the loss
    assert log_vars['batch.labelled'] == 0.5
    expected = sum(float(v) for k, v in losses.items() if 'loss' in k)
    assert float(total) == pytest.approx(expected, rel=1e-6)


def test_all_unlabelled_batch_has_a_zero_supervised_loss_and_a_kd_term(teacher_ckpt):
    model = build(teacher_ckpt)
    losses, grads = losses_and_input_grads(
        model, mixed_batch((False, False)), ['student.decode.loss_ce', 'distill.loss_kd']
    )
    assert float(losses['student.decode.loss_ce'].detach()) == 0.0
    assert torch.isfinite(losses['distill.loss_kd']) and float(losses['distill.loss_kd']) > 0
    assert torch.equal(grads['student.decode.loss_ce'], torch.zeros_like(grads['distill.loss_kd']))
    assert float(losses['batch.labelled']) == 0.0


def test_kd_uses_unlabelled_pixels_and_the_labelled_samples_void_mask(teacher_ckpt):
    """The KD term of a mixed batch equals the mean of per-sample KD over exactly the pixels it
    should see: the labelled sample's non-void pixels and every pixel of the unlabelled one."""
    model = build(teacher_ckpt)
    batch = mixed_batch((True, False), void_rows=8)
    model.eval()  # deterministic forward (no dropout, running BN statistics) for the reference
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    s_logits = model.student_taps.get('logits')
    t_logits = model.teacher_taps['rgbt'].get('logits')
    ignore = torch.zeros(2, 32, 40, dtype=torch.bool)
    ignore[0, :8] = True
    ref = KDLoss(tau=2.0)(s_logits, t_logits, gt=ignore)
    assert torch.allclose(losses['distill.loss_kd'], ref, atol=1e-6)
    as_void = KDLoss(tau=2.0)(s_logits, t_logits, gt=torch.stack(
        [s.gt_sem_seg.data[0] for s in data['data_samples']]))
    assert not torch.allclose(ref, as_void)  # the unlabelled sample would be dropped otherwise


def test_padding_of_an_unlabelled_sample_stays_out_of_kd(teacher_ckpt):
    """A smaller unlabelled frame is padded by the data pre-processor: its padding is not a pixel
    the teacher should teach on (the labelled samples' padding is void by its label already)."""
    model = build(teacher_ckpt)
    batch = make_batch(n=2, sizes=[(32, 40), (28, 36)])
    s = batch['data_samples'][1]
    s.gt_sem_seg = PixelData(data=torch.full_like(s.gt_sem_seg.data, 255))
    for sample, lab in zip(batch['data_samples'], (True, False)):
        sample.set_metainfo(dict(labelled=lab))
    model.eval()
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    assert list(data['data_samples'][1].padding_size) == [0, 4, 0, 4]
    losses = model.loss(data['inputs'], data['data_samples'])
    s_logits = model.student_taps.get('logits')
    t_logits = model.teacher_taps['rgbt'].get('logits')
    ignore = torch.zeros(2, 32, 40, dtype=torch.bool)
    ignore[1, 28:] = True
    ignore[1, :, 36:] = True
    ref = KDLoss(tau=2.0)(s_logits, t_logits, gt=ignore)
    assert torch.allclose(losses['distill.loss_kd'], ref, atol=1e-6)
    no_pad = KDLoss(tau=2.0)(s_logits, t_logits, gt=torch.zeros_like(ignore))
    assert not torch.allclose(ref, no_pad)


def test_distill_target_by_loss_declaration():
    gt = torch.tensor([[[1, 255]], [[255, 255]]])  # (2, 1, 2): sample 1 unlabelled
    labelled = torch.tensor([True, False])
    spec = dict(name='loss_x', type='X')
    mask = distill_target(KDLoss(), spec, gt, labelled)
    assert mask.dtype == torch.bool
    assert mask.tolist() == [[[False, True]], [[False, False]]]
    assert torch.equal(distill_target(DKDLoss(), spec, gt, labelled), gt)  # needs the classes
    weighted = KDLoss(class_weight=[1.0, 2.0])
    assert torch.equal(distill_target(weighted, spec, gt, labelled), gt)
    assert distill_target(KDLoss(), spec, None, labelled) is None

    class Undeclared(torch.nn.Module):
        pass

    with pytest.raises(ValueError, match='loss_x.*does not declare'):
        distill_target(Undeclared(), spec, gt, labelled)


def test_labelled_flags():
    batch = mixed_batch((True, False))
    assert labelled_flags(batch['data_samples']).tolist() == [True, False]
    assert labelled_flags(make_batch()['data_samples']) is None  # an ordinary loader
    partial = make_batch()['data_samples']
    partial[0].set_metainfo(dict(labelled=True))
    with pytest.raises(ValueError, match='MixedLabelDataset'):
        labelled_flags(partial)


def test_requires_labels_loss_rejects_a_mask():
    s = torch.randn(1, 4, 2, 2)
    with pytest.raises(ValueError, match='train-id labels'):
        DKDLoss()(s, s, gt=torch.zeros(1, 2, 2, dtype=torch.bool))
