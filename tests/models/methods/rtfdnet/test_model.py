"""RTFDNet model: forward/backward/shapes, predictions of every head, gradient flow."""

import pytest
import torch

from fixtures import HEADS_2, ce_loss, seg_head

from .common import NUM_CLASSES, batch, build


def _fused_branch_params(model):
    return list(model.fusions.named_parameters(prefix='fusions')) + list(
        model.decode_head.named_parameters(prefix='decode_head')
    )


def test_loss_forward_backward_shapes():
    model = build()
    inputs, samples = batch()
    out = model.forward_heads(inputs)
    for name in ('rgb', 'x', 'fused'):
        assert out['logits'][name].shape == (2, NUM_CLASSES, 8, 12)
    assert [f.shape[1] for f in out['fused_feats']] == [8, 16, 16, 32]
    losses = model.loss(inputs, samples)
    assert {
        'rgb.loss_ce',
        'x.loss_ce',
        'fused.loss_ce',
        'loss_cmdr_feat',
        'loss_cmdr_logit',
        'loss_rdr',
    } <= set(losses)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
    assert model._forward(inputs).shape == (2, NUM_CLASSES, 8, 12)


def test_ce_weight_scales_head_losses():
    inputs, samples = batch()
    l1 = build(w_ce=1.0).loss(inputs, samples)
    l2 = build(w_ce=0.5).loss(inputs, samples)
    assert l2['rgb.loss_ce'].item() == pytest.approx(0.5 * l1['rgb.loss_ce'].item(), rel=1e-5)


def test_no_gradient_into_fused_branch_from_rdr_and_cmdr_logit():
    model = build()
    inputs, samples = batch()
    losses = model.loss(inputs, samples)
    (losses['loss_rdr'] + losses['loss_cmdr_logit']).backward()
    for name, p in _fused_branch_params(model):
        assert p.grad is None or p.grad.abs().sum() == 0, name
    # ... while the unimodal heads and encoders do learn from them
    for m in ('rgb', 'thermal'):
        assert model.heads[m].conv_seg.weight.grad.abs().sum() > 0
        assert any(
            p.grad is not None and p.grad.abs().sum() > 0 for p in model.backbones[m].parameters()
        )


def test_cmdr_feature_gradient_reaches_fusion_only_when_not_detached():
    inputs, samples = batch()
    model = build()  # paper default: fused target detached
    model.loss(inputs, samples)['loss_cmdr_feat'].backward()
    for name, p in _fused_branch_params(model):
        assert p.grad is None or p.grad.abs().sum() == 0, name
    model = build(akd_detach_fused=False)  # released code
    model.loss(inputs, samples)['loss_cmdr_feat'].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.fusions.parameters())


def test_detach_in_fusion_keeps_fused_loss_out_of_that_stream():
    inputs, samples = batch()

    def grads(model):
        model.loss(inputs, samples)['fused.loss_ce'].backward()
        return {
            m: any(
                p.grad is not None and p.grad.abs().sum() > 0
                for p in model.backbones[m].parameters()
            )
            for m in ('rgb', 'thermal')
        }

    assert grads(build()) == {'rgb': True, 'thermal': True}  # paper: fused CE trains both
    assert grads(build(detach_in_fusion=('rgb',))) == {'rgb': False, 'thermal': True}
    # the fused predictions themselves do not change (build() seeds the initialisation)
    a, b = build(), build(detach_in_fusion=('rgb',))
    a.eval(), b.eval()
    assert torch.equal(a._forward(inputs), b._forward(inputs))
    with pytest.raises(ValueError, match='not among the modalities'):
        build(detach_in_fusion=('depth',))


def test_predict_all_heads_and_branch_option():
    model = build().eval()
    inputs, samples = batch(h=32, w=48)
    with torch.no_grad():
        out = model.predict(inputs, samples)
    s = out[0]
    for f in ('pred_sem_seg', 'pred_sem_seg_rgb', 'pred_sem_seg_x', 'pred_sem_seg_fused'):
        assert s.get(f).data.shape == (1, 32, 48)
    assert torch.equal(s.pred_sem_seg.data, s.pred_sem_seg_fused.data)
    model.branch = 'rgb'
    with torch.no_grad():
        out2 = model.predict(inputs, None)
    assert torch.equal(out2[0].pred_sem_seg.data, s.pred_sem_seg_rgb.data)
    with pytest.raises(ValueError, match='branch'):
        build(branch='thermal')


def test_slide_inference_matches_shapes():
    model = build(test_cfg=dict(mode='slide', crop_size=(32, 32), stride=(16, 16))).eval()
    inputs, samples = batch(h=32, w=48)
    with torch.no_grad():
        out = model.predict(inputs, samples)
    assert out[0].pred_sem_seg_x.data.shape == (1, 32, 48)


def test_released_code_flags_and_errors():
    model = build(
        fusion=dict(type='SFF', spatial_attn=False),
        akd_alpha='random',
        akd_detach_fused=False,
        mask_void=False,
    )
    assert not model.fusions[0].spatial_attn
    assert not list(model.loss_cmdr_feat.parameters())
    inputs, samples = batch()
    losses = model.loss(inputs, samples)
    assert torch.isfinite(sum(v for k, v in losses.items() if 'loss' in k))
    with pytest.raises(KeyError, match='thermal'):
        model.extract_feat({'rgb': inputs['rgb']})
    with pytest.raises(TypeError, match='dict'):
        model.extract_feat(inputs['rgb'])
    with pytest.raises(ValueError, match='two modalities'):
        build(modalities=('rgb',))


def test_data_preprocessor_path():
    model = build().eval()
    inputs, samples = batch()
    raw = dict(
        inputs=[
            {
                'rgb': (inputs['rgb'][i] * 50 + 120).clamp(0, 255).to(torch.uint8),
                'thermal': inputs['thermal'][i] * 40 + 100,
            }
            for i in range(2)
        ],
        data_samples=samples,
    )
    with torch.no_grad():
        out = model.test_step(raw)
    assert len(out) == 2 and out[0].pred_sem_seg_rgb.data.shape == (1, 32, 48)


def _head(loss_decode):
    return seg_head(NUM_CLASSES, num_heads=HEADS_2, loss_decode=loss_decode)


def _label_size_logits(model, inputs, samples):
    """(gt (B, H, W), {branch: logits (B, K, H, W)}) at label size, as ``RTFDNet.loss`` uses."""
    from mmseg.models.utils import resize

    gt = torch.stack([s.gt_sem_seg.data[0] for s in samples]).long()
    with torch.no_grad():
        logits = model.forward_heads(inputs)['logits']
    size = gt.shape[-2:]
    return gt, {k: resize(v, size=size, mode='bilinear') for k, v in logits.items()}


def test_logit_class_weights_come_from_the_supervised_loss():
    from crossmodal.models.methods.rtfdnet import CMDRLogitLoss, RDRLoss

    cw = [0.25, 1.0, 2.0]
    weighted = dict(type='WeightedCrossEntropyLoss', class_weight=cw)
    inputs, samples = batch()
    model = build(decode_head=_head(weighted), rdr_class_weight='supervised')
    model.init_weights()  # the training path: weights survive init
    assert model.loss_cmdr_logit.class_weight.tolist() == cw
    assert model.loss_rdr.class_weight.tolist() == cw
    # the model's loss values are the weighted terms of its own logits (no dropout in the tiny head)
    losses = model.loss(inputs, samples)
    gt, up = _label_size_logits(model, inputs, samples)
    uni = [up['rgb'], up['x']]
    want = CMDRLogitLoss(class_weight=cw)(uni, up['fused'], gt)
    assert losses['loss_cmdr_logit'].item() == pytest.approx(want.item(), rel=1e-5)
    assert abs(CMDRLogitLoss()(uni, up['fused'], gt).item() - want.item()) > 1e-4
    want = RDRLoss(class_weight=cw)(uni, up['fused'], gt)
    assert losses['loss_rdr'].item() == pytest.approx(want.item(), rel=1e-5)
    # RDR is unweighted unless asked (paper, code)
    assert build(decode_head=_head(weighted)).loss_rdr.class_weight is None
    # mmseg's own CrossEntropyLoss(class_weight=...) and a list of decode losses
    mmseg_ce = ce_loss(class_weight=cw)
    assert build(decode_head=_head(mmseg_ce)).loss_cmdr_logit.class_weight.tolist() == cw
    two = [mmseg_ce, dict(type='DiceLoss', loss_name='loss_dice')]
    assert build(decode_head=_head(two)).loss_cmdr_logit.class_weight.tolist() == cw


def test_logit_class_weight_options():
    # unweighted supervised CE (the real MFNet/PST/FMB configs): unweighted, as paper and code
    model = build()
    assert model.loss_cmdr_logit.class_weight is None and model.loss_rdr.class_weight is None
    weighted = _head(dict(type='WeightedCrossEntropyLoss', class_weight=[0.25, 1.0, 1.0]))
    assert build(decode_head=weighted, mce_class_weight=None).loss_cmdr_logit.class_weight is None
    model = build(decode_head=weighted, mce_class_weight=[1, 2, 3], rdr_class_weight=[3, 2, 1])
    assert model.loss_cmdr_logit.class_weight.tolist() == [1.0, 2.0, 3.0]
    assert model.loss_rdr.class_weight.tolist() == [3.0, 2.0, 1.0]
    with pytest.raises(ValueError, match='2 entries for 3 classes'):
        build(mce_class_weight=[1.0, 1.0])
    with pytest.raises(ValueError, match="'supervised', None or a list"):
        build(rdr_class_weight='auto')
    conflicting = [
        ce_loss(class_weight=[0.25, 1.0, 1.0]),
        ce_loss(class_weight=[1.0, 1.0, 1.0], loss_name='loss_ce2'),
    ]
    with pytest.raises(ValueError, match='different class weights'):
        build(decode_head=_head(conflicting))
    build(decode_head=_head(conflicting), mce_class_weight=None)  # explicit choice is fine


def test_cmdr_gate_options_reach_the_loss():
    model = build()
    lf = model.loss_cmdr_feat
    assert lf.gate_mlps == 'shared' and not lf.detach_gate and lf.gate_norm is None
    assert len(lf.mlps) == 4 and not hasattr(lf, 'mlps_uni')
    model = build(akd_gate_mlps='separate', akd_detach_gate=True, akd_gate_norm='mean')
    lf = model.loss_cmdr_feat
    assert lf.detach_gate and lf.gate_norm == 'mean' and len(lf.mlps_uni) == 2
    inputs, samples = batch()
    model.loss(inputs, samples)['loss_cmdr_feat'].backward()
    assert all(p.grad is None for p in lf.parameters())  # detached gate: MLPs untouched
