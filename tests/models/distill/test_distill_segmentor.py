"""DistillSegmentor: routing, frozen teachers, taps/connectors, losses, schedules, TAID state,
errors."""

import copy

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS

from crossmodal.compat import load_checkpoint_file
from crossmodal.models.distill import DistillSegmentor

from distill_helpers import make_batch, student_cfg, teacher_cfg


def build(teacher_ckpt, losses=None, **kw):
    kw.setdefault(
        'teachers',
        dict(rgbt=dict(config=teacher_cfg(), checkpoint=teacher_ckpt, taps=dict(s4='fusions.3'))),
    )
    return DistillSegmentor(
        student=student_cfg(),
        distill_losses=losses
        if losses is not None
        else [dict(type='KDLoss', tau=2.0, student='logits', teacher='rgbt.logits')],
        **kw,
    )


def set_iter(it, max_iters=10):
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', it)
    hub.update_info('max_iters', max_iters)


def optim(model):
    return OptimWrapper(torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1))


class Recorder:
    """Pre-forward hook keeping the first positional input of a module."""

    def __init__(self, module):
        self.inputs = []
        module.register_forward_pre_hook(lambda m, args: self.inputs.append(args[0]))


# ---------------------------------------------------------------- routing
def test_student_input_equals_stock_preprocessor_and_never_sees_thermal(teacher_ckpt):
    model = build(teacher_ckpt)
    rec = Recorder(model.student.backbone)
    # training batch with one smaller sample: padding must match the stock pre-processor too
    batch = make_batch(sizes=[(32, 40), (28, 36)])
    for s in batch['inputs']:
        s['thermal'].fill_(1e6)  # a thermal value would be unmistakable in the student input
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    model.loss(data['inputs'], data['data_samples'])
    x = rec.inputs[0]
    assert x.shape == (2, 3, 32, 40)
    assert x.abs().max() < 10  # normalised RGB only, no thermal channel, no 1e6 values
    with DefaultScope.overwrite_default_scope('mmseg'):
        stock = MODELS.build(student_cfg()).data_preprocessor
    ref = stock(
        dict(
            inputs=[s['rgb'] for s in batch['inputs']],
            data_samples=copy.deepcopy(batch['data_samples']),
        ),
        True,
    )['inputs']
    assert torch.equal(x, ref)


def test_stock_single_modality_teacher_gets_its_own_preprocessor_tensor():
    """A stock depth-only SegFormer teacher: one (B, 1, H, W) tensor, as its SegDataPreProcessor
    makes."""
    depth_cfg = student_cfg()
    depth_cfg['data_preprocessor'].update(mean=[5.0], std=[2.0])
    depth_cfg['backbone'] = dict(depth_cfg['backbone'], in_channels=1)
    with pytest.warns(UserWarning, match='no checkpoint'):
        model = DistillSegmentor(
            student=student_cfg(),
            teachers=dict(d=dict(config=depth_cfg, checkpoint=None, modalities=('depth',))),
            distill_losses=[dict(type='KDLoss', tau=2.0, student='logits', teacher='d.logits')],
        )
    assert model.stock_teachers == {'d'}
    rec = Recorder(model.teachers['d'].backbone)
    batch = make_batch(modalities=('rgb', 'depth'))
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    x = model.teacher_inputs('d', data['inputs'])
    assert isinstance(x, torch.Tensor) and x.shape == (2, 1, 32, 40)
    with DefaultScope.overwrite_default_scope('mmseg'):
        stock = MODELS.build(depth_cfg).data_preprocessor
    ref = stock(
        dict(
            inputs=[s['depth'] for s in batch['inputs']],
            data_samples=copy.deepcopy(batch['data_samples']),
        ),
        True,
    )['inputs']
    torch.testing.assert_close(x, ref)
    model.loss(data['inputs'], data['data_samples'])
    torch.testing.assert_close(rec.inputs[0], ref)


def test_teacher_gets_exactly_its_modalities_in_its_own_normalisation(teacher_ckpt):
    model = build(teacher_ckpt)
    t = model.teachers['rgbt']
    rec_rgb, rec_th = Recorder(t.backbones['rgb']), Recorder(t.backbones['thermal'])
    batch = make_batch(modalities=('rgb', 'thermal', 'depth'))  # depth must not reach anyone
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    assert set(model.teacher_inputs('rgbt', data['inputs'])) == {'rgb', 'thermal'}
    model.loss(data['inputs'], data['data_samples'])
    own = t.data_preprocessor(copy.deepcopy(batch), False)['inputs']  # teacher's own: RGB / 255
    torch.testing.assert_close(rec_rgb.inputs[0], own['rgb'], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(rec_th.inputs[0], own['thermal'], rtol=1e-5, atol=1e-5)
    assert rec_rgb.inputs[0].max() <= 1.0 + 1e-6  # /255, not ImageNet mean/std


def test_missing_modality_is_a_clear_error(teacher_ckpt):
    model = build(teacher_ckpt)
    data = model.data_preprocessor(make_batch(modalities=('rgb',)), True)
    with pytest.raises(KeyError, match=r'teacher "rgbt" needs modalities .*missing .*thermal'):
        model.loss(data['inputs'], data['data_samples'])


# ---------------------------------------------------------------- frozen teachers / predict
def test_teachers_frozen_eval_and_unchanged(teacher_ckpt):
    model = build(teacher_ckpt)
    model.train()
    t = model.teachers['rgbt']
    assert not t.training and all(not m.training for m in t.modules())
    assert all(not p.requires_grad for p in t.parameters())
    before = {k: v.clone() for k, v in t.state_dict().items()}
    s_before = model.student.decode_head.conv_seg.weight.clone()
    set_iter(0)
    model.train_step(make_batch(), optim(model))
    assert all(torch.equal(before[k], v) for k, v in t.state_dict().items())  # BN stats too
    assert all(p.grad is None for p in t.parameters())
    assert not torch.equal(s_before, model.student.decode_head.conv_seg.weight)


def test_predict_runs_the_student_alone(teacher_ckpt):
    model = build(teacher_ckpt).eval()
    calls = Recorder(model.teachers['rgbt'].decode_head.conv_seg)
    out = model.val_step(make_batch(with_label=False))
    assert len(out) == 2 and out[0].pred_sem_seg.data.shape == (1, 32, 40)
    assert calls.inputs == []


def test_log_keys_and_unlabelled_stage(teacher_ckpt):
    set_iter(0)
    model = build(teacher_ckpt)
    data = model.data_preprocessor(make_batch(), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert set(losses) == {'student.decode.loss_ce', 'student.decode.acc_seg', 'distill.loss_kd'}
    unl = build(teacher_ckpt, with_label=False)
    data = unl.data_preprocessor(make_batch(with_label=False), True)
    losses = unl.loss(data['inputs'], data['data_samples'])
    assert set(losses) == {'distill.loss_kd'}
    losses['distill.loss_kd'].backward()
    assert unl.student.backbone.layers[0][0].projection.weight.grad is not None


# ---------------------------------------------------------------- taps / connectors
def test_feature_taps_and_connectors(teacher_ckpt):
    model = build(
        teacher_ckpt,
        student_taps=dict(s4='backbone[3]'),
        connectors=dict(
            c4=dict(type='ConvConnector', in_channels=64, out_channels=64),
            q4=dict(type='QSDConnector', in_channels=64, out_channels=64),
        ),
        losses=[
            dict(
                type='FeatureMSELoss',
                student='s4',
                teacher='rgbt.s4',
                connector='c4',
                name='fitnet',
            ),
            dict(
                type='FeatureMSELoss',
                student='s4',
                teacher='rgbt.s4',
                connector='q4',
                name='loss_qsd',
            ),
        ],
    )
    data = model.data_preprocessor(make_batch(), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert {'distill.loss_fitnet', 'distill.loss_qsd'} <= set(losses)  # "loss_" prepended
    assert model.student_taps.get('s4').shape == (2, 64, 1, 2)
    assert model.teacher_taps['rgbt'].get('s4').shape == (2, 64, 1, 2)
    sum(losses[k] for k in ('distill.loss_fitnet', 'distill.loss_qsd')).backward()
    assert model.connectors['c4'].conv.weight.grad is not None
    assert model.connectors['q4'].qsd.q_proj.weight.grad is not None


def test_bad_tap_path_lists_nearest_names(teacher_ckpt):
    with pytest.raises(
        KeyError, match=r'backbone\.layer\.3.*nearest valid names.*backbone\.layers\.3'
    ):
        build(teacher_ckpt, student_taps=dict(s4='backbone.layer.3'))


def test_tap_on_module_that_never_runs_is_reported(teacher_ckpt):
    # MiT's layers.3 is a ModuleList: forward hooks on it never fire
    model = build(
        teacher_ckpt,
        student_taps=dict(s4='backbone.layers.3'),
        losses=[dict(type='FeatureMSELoss', student='s4', teacher='rgbt.s4')],
    )
    data = model.data_preprocessor(make_batch(), True)
    with pytest.raises(RuntimeError, match='recorded nothing.*backbone\\[3\\]'):
        model.loss(data['inputs'], data['data_samples'])


# ---------------------------------------------------------------- bad input
def test_teacher_checkpoint_mismatch_lists_keys(tmp_path):
    with DefaultScope.overwrite_default_scope('mmseg'):
        other = MODELS.build(teacher_cfg(modalities=('rgb', 'depth')))
    path = tmp_path / 'rgbd.pth'
    torch.save({'state_dict': other.state_dict()}, str(path))
    with pytest.raises(
        ValueError,
        match=r'rgbd\.pth does not match.*missing keys \d+ '
        r'\[.*backbones\.thermal.*unexpected keys \d+ \[.*backbones\.depth',
    ):
        build(str(path))


def test_class_count_mismatch(tmp_path):
    with DefaultScope.overwrite_default_scope('mmseg'):
        t = MODELS.build(teacher_cfg(num_classes=5))
    path = tmp_path / 't5.pth'
    torch.save({'state_dict': t.state_dict()}, str(path))
    with pytest.raises(
        ValueError, match='student predicts 4 classes but teacher "rgbt" predicts 5'
    ):
        DistillSegmentor(
            student=student_cfg(),
            teachers=dict(rgbt=dict(config=teacher_cfg(num_classes=5), checkpoint=str(path))),
            distill_losses=[dict(type='KDLoss', student='logits', teacher='rgbt.logits')],
        )


def test_label_needing_loss_in_unlabelled_stage(teacher_ckpt):
    with pytest.raises(ValueError, match=r'DKDLoss\) needs ground-truth labels.*with_label=False'):
        build(
            teacher_ckpt,
            with_label=False,
            losses=[dict(type='DKDLoss', student='logits', teacher='rgbt.logits')],
        )


def test_unknown_references(teacher_ckpt):
    with pytest.raises(ValueError, match='unknown teacher "rgbd"'):
        build(teacher_ckpt, losses=[dict(type='KDLoss', student='logits', teacher='rgbd.logits')])
    with pytest.raises(ValueError, match='unknown connector "c"'):
        build(
            teacher_ckpt,
            losses=[dict(type='KDLoss', student='logits', teacher='rgbt.logits', connector='c')],
        )


# ---------------------------------------------------------------- schedules, weights, TAID
def test_schedule_and_teacher_weight_applied(teacher_ckpt):
    spec = [
        dict(
            type='KDLoss',
            tau=2.0,
            student='logits',
            teacher='rgbt.logits',
            schedule=dict(kind='linear_warmup', warmup_iters=10),
        )
    ]
    model = build(teacher_ckpt, losses=spec)
    model.eval()  # deterministic forward
    data = model.data_preprocessor(make_batch(), True)
    values = {}
    for it in (0, 5, 20):
        set_iter(it, 30)
        values[it] = float(model.loss(data['inputs'], data['data_samples'])['distill.loss_kd'])
    assert values[0] == 0.0
    assert values[20] > 0
    assert values[5] == pytest.approx(0.5 * values[20], rel=1e-5)
    heavy = build(
        teacher_ckpt,
        teachers=dict(rgbt=dict(config=teacher_cfg(), checkpoint=teacher_ckpt, loss_weight=3.0)),
        losses=spec,
    ).eval()
    heavy.load_state_dict(model.state_dict())
    v = float(heavy.loss(data['inputs'], data['data_samples'])['distill.loss_kd'])
    assert v == pytest.approx(3.0 * values[20], rel=1e-5)


def test_taid_updates_and_round_trips_through_a_checkpoint(teacher_ckpt, tmp_path):
    spec = [dict(type='TAIDLoss', t_start=0.4, student='logits', teacher='rgbt.logits')]
    model = build(teacher_ckpt, losses=spec)
    ow = optim(model)
    for it in range(3):
        set_iter(it, 10)
        log = model.train_step(make_batch(seed=it), ow)
    t_after = float(model.distill_losses[0].t)
    assert t_after > 0.4 and log['distill.loss_taid.t'] == pytest.approx(t_after)
    path = tmp_path / 'distill.pth'
    torch.save({'state_dict': model.state_dict()}, str(path))
    fresh = build(teacher_ckpt, losses=spec)
    assert float(fresh.distill_losses[0].t) == pytest.approx(0.4)
    fresh.load_state_dict(load_checkpoint_file(str(path))['state_dict'])
    for name in ('t', 'momentum', 'prev_loss'):
        assert torch.equal(
            getattr(fresh.distill_losses[0], name), getattr(model.distill_losses[0], name)
        )


def test_gkd_feature_loss_with_masked_branch_and_freeze(teacher_ckpt):
    model = build(
        teacher_ckpt,
        with_label=False,
        student_taps=dict(s4='backbone[3]'),
        losses=[
            dict(
                type='GKDFeatureLoss',
                student_dims=64,
                teacher_dims=64,
                student='s4',
                teacher='rgbt.s4',
                name='loss_gkd',
                masker=dict(patch_size=16, mask_prob=1.0, mask_ratio=0.5),
            )
        ],
    )
    set_iter(0)
    log = model.train_step(make_batch(with_label=False), optim(model))
    assert {
        'distill.loss_gkd.loss_feat',
        'distill.loss_gkd.loss_mask',
        'distill.loss_gkd.loss_cls',
    } <= set(log)
    stage2 = DistillSegmentor(student=student_cfg(), teachers={}, freeze=['backbone'])
    stage2.train()
    assert not stage2.student.backbone.training and stage2.student.decode_head.training
    w = stage2.student.backbone.layers[0][0].projection.weight.clone()
    stage2.train_step(make_batch(), optim(stage2))
    assert torch.equal(w, stage2.student.backbone.layers[0][0].projection.weight)


def test_gkd_multi_stage_shares_the_masked_pass_and_token_fill_trains_its_token(teacher_ckpt):
    def gkd(tap, dims, loss_on='all', **masker):
        return dict(
            type='GKDFeatureLoss',
            student_dims=dims,
            teacher_dims=dims,
            mask_loss_on=loss_on,
            student=tap,
            teacher=f'rgbt.{tap}',
            name=f'loss_gkd_{tap}',
            masker=dict(patch_size=16, mask_prob=1.0, mask_ratio=0.5, **masker),
        )

    teachers = dict(
        rgbt=dict(
            config=teacher_cfg(),
            checkpoint=teacher_ckpt,
            taps=dict(s3='fusions.2', s4='fusions.3'),
        )
    )
    taps = dict(s3='backbone[2]', s4='backbone[3]')
    # multi-stage QSD, mean fill: one GKD loss per stage, equal maskers -> one masked pass (the
    # engine also hands the patch mask over: mask_loss_on='masked')
    model = build(
        teacher_ckpt,
        with_label=False,
        teachers=teachers,
        student_taps=taps,
        losses=[gkd('s3', 40, loss_on='masked'), gkd('s4', 64)],
    )
    assert len(model.loss_inputs) == 2 and not any(
        k.startswith('loss_inputs.') for k in model.state_dict()
    )
    calls = Recorder(model.student.backbone)
    set_iter(0)
    log = model.train_step(make_batch(with_label=False), optim(model))
    assert {'distill.loss_gkd_s3.loss_mask', 'distill.loss_gkd_s4.loss_mask'} <= set(log)
    assert len(calls.inputs) == 2  # the normal pass and one shared masked pass
    # released-code masking: a learned mask token after the first patch embedding
    model = build(
        teacher_ckpt,
        with_label=False,
        teachers=teachers,
        student_taps=taps,
        losses=[gkd('s4', 64, fill='token', token_dims=8)],
    )
    key = 'loss_inputs.loss_gkd_s4.masked_student.masker.mask_token'
    token = model.state_dict()[key].clone()
    assert token.shape == (8,)
    calls = Recorder(model.student.backbone)
    model.train_step(make_batch(with_label=False), optim(model))
    assert len(calls.inputs) == 2 and torch.equal(calls.inputs[0], calls.inputs[1])
    assert not torch.equal(token, model.state_dict()[key])  # trained by the optimiser


def test_student_init_matches_its_no_kd_twin(teacher_ckpt):
    torch.manual_seed(3)
    with DefaultScope.overwrite_default_scope('mmseg'):
        twin = MODELS.build(student_cfg())
    twin.init_weights()
    torch.manual_seed(3)
    model = build(teacher_ckpt)
    model.init_weights()
    sd = twin.state_dict()
    assert all(
        torch.equal(v, sd[k[len('student.') :]])
        for k, v in model.state_dict().items()
        if k.startswith('student.')
    )
