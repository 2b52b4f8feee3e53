"""DualHeadSegformerHead (DHO): the logit mix on a hand-computed case, train / eval outputs, the
KD tap, gradient routing through the distiller, initialisation, argument checks."""

import copy
import warnings

import pytest
import torch

import fixtures
from fixtures import HEADS_2

from crossmodal.models.heads.dual_head_segformer import (
    DualHeadSegformerHead,
    check_alpha,
    fold_classifier,
)

K = 3


def dho_head(num_classes=K, dropout_ratio=0.0, **kw):
    return dict(
        fixtures.seg_head(num_classes, 8, HEADS_2, dropout_ratio=dropout_ratio),
        type='DualHeadSegformerHead',
        **kw,
    )


def dho_student(**kw):
    return fixtures.student_cfg(K, num_heads=HEADS_2, head=dho_head(**kw))


def tiny_head(alpha=0.5, **kw):
    """A 2-class head on one 2-channel stage: its classifiers see a 2-channel feature."""
    return DualHeadSegformerHead(
        alpha=alpha,
        in_channels=[2],
        in_index=[0],
        channels=2,
        num_classes=2,
        dropout_ratio=0.0,
        **kw,
    )


# ---------------------------------------------------------------- the mix, by hand
def test_golden_mix_of_two_classes_on_a_1x1_feature():
    head = tiny_head(alpha=0.25).eval()
    with torch.no_grad():
        head.conv_seg.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(2, 2, 1, 1))
        head.conv_seg.bias.copy_(torch.tensor([0.5, -1.0]))
        head.conv_seg_kd.weight.copy_(torch.tensor([[0.0, 1.0], [-1.0, 0.0]]).view(2, 2, 1, 1))
        head.conv_seg_kd.bias.copy_(torch.tensor([1.0, 1.0]))
    f = torch.tensor([1.0, -2.0]).view(1, 2, 1, 1)
    z_label, z_kd = head.classify_both(f)
    # z_label = W_l f + b_l = [1 - 4 + 0.5, 3 - 8 - 1]; z_kd = W_k f + b_k = [-2 + 1, -1 + 1]
    assert z_label.flatten().tolist() == [-2.5, -6.0]
    assert z_kd.flatten().tolist() == [-1.0, 0.0]
    # 0.25 * [-2.5, -6] + 0.75 * [-1, 0]
    assert head.mix(z_label, z_kd).flatten().tolist() == [-1.375, -1.5]
    assert head.mix(z_label, z_kd, alpha=1.0).flatten().tolist() == [-2.5, -6.0]
    assert head.mix(z_label, z_kd, alpha=0.0).flatten().tolist() == [-1.0, 0.0]
    # the fold: W = 0.25 W_l + 0.75 W_k, b = 0.25 b_l + 0.75 b_k
    w, b = head.folded_classifier()
    assert w.flatten().tolist() == [0.25, 1.25, 0.0, 1.0]
    assert b.tolist() == [0.875, 0.5]
    assert torch.nn.functional.conv2d(f, w, b).flatten().tolist() == [-1.375, -1.5]


def test_fold_classifier_without_biases_and_shape_check():
    w_l, w_k = torch.ones(2, 3, 1, 1), torch.zeros(2, 3, 1, 1)
    w, b = fold_classifier(w_l, None, w_k, None, 0.75)
    assert b is None and torch.equal(w, torch.full((2, 3, 1, 1), 0.75))
    _, b = fold_classifier(w_l, torch.ones(2), w_k, None, 0.75)
    assert b.tolist() == [0.75, 0.75]
    with pytest.raises(ValueError, match='differ in shape'):
        fold_classifier(w_l, None, torch.zeros(3, 3, 1, 1), None, 0.5)


# ---------------------------------------------------------------- train / eval outputs
def test_train_output_is_the_label_head_and_the_kd_tap_records_the_kd_head():
    model = fixtures.build(dho_student(dropout_ratio=0.5), seed=0)
    head = model.decode_head
    with torch.no_grad():  # the two heads differ (kd_init='copy' starts them equal)
        head.conv_seg_kd.weight.normal_()
    seen = {}
    head.conv_seg.register_forward_pre_hook(lambda m, a: seen.__setitem__('label_in', a[0]))
    head.conv_seg_kd.register_forward_pre_hook(lambda m, a: seen.__setitem__('kd_in', a[0]))
    head.conv_seg_kd.register_forward_hook(lambda m, a, out: seen.__setitem__('kd_out', out))
    x = torch.randn(2, 3, 32, 40)
    model.train()
    torch.manual_seed(1)
    out = model._forward(x)
    assert out.shape == (2, K, 8, 10)
    # one dropout mask for both heads: the same tensor goes into both classifiers
    assert seen['label_in'] is seen['kd_in']
    assert torch.equal(out, head.conv_seg(seen['label_in']))
    assert torch.equal(seen['kd_out'], head.conv_seg_kd(seen['kd_in']))
    assert not torch.allclose(out, seen['kd_out'])


def test_eval_output_is_the_alpha_combination_and_alpha_can_change():
    model = fixtures.build(dho_student(alpha=0.3), seed=0).eval()
    head = model.decode_head
    with torch.no_grad():
        head.conv_seg_kd.weight.normal_()
        head.conv_seg_kd.bias.normal_()
    x = torch.randn(1, 3, 32, 40)
    with torch.no_grad():
        feats = model.extract_feat(x)
        z_label, z_kd = head.forward_heads(feats)
        assert torch.allclose(head(feats), 0.3 * z_label + 0.7 * z_kd, atol=1e-6)
        head.alpha = 1.0
        assert torch.equal(head(feats), z_label)
        head.alpha = 0.0
        assert torch.equal(head(feats), z_kd)
        # predict scores the combination too (mmseg's encode_decode -> decode_head.predict)
        head.alpha = 0.3
        logits = model.encode_decode(x, [dict(img_shape=(32, 40), pad_shape=(32, 40))])
        ref = torch.nn.functional.interpolate(
            0.3 * z_label + 0.7 * z_kd, size=(32, 40), mode='bilinear', align_corners=False
        )
        assert torch.allclose(logits, ref, atol=1e-5)


# ---------------------------------------------------------------- gradient routing (distiller)
def _distiller():
    from mmengine.registry import DefaultScope

    from crossmodal.models.distill import DistillSegmentor

    teacher = fixtures.teacher_cfg(('rgb', 'thermal'), num_classes=K, num_heads=HEADS_2)
    with DefaultScope.overwrite_default_scope('mmseg'), warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='teacher .* has no checkpoint')
        torch.manual_seed(0)
        return DistillSegmentor(
            student=dho_student(),
            teachers=dict(rgbt=dict(config=teacher, checkpoint=None)),
            student_taps=dict(kd_logits='decode_head.conv_seg_kd'),
            distill_losses=[
                dict(
                    type='KDLoss',
                    tau=2.0,
                    student='kd_logits',
                    teacher='rgbt.logits',
                    name='loss_kd',
                )
            ],
        )


def _grads(model, loss):
    model.zero_grad(set_to_none=True)
    loss.backward(retain_graph=True)
    head = model.student.decode_head

    def norm(m):
        return sum(float(p.grad.abs().sum()) for p in m.parameters() if p.grad is not None)

    return norm(head.conv_seg), norm(head.conv_seg_kd), norm(model.student.backbone)


def test_ce_trains_only_the_label_head_and_kd_only_the_kd_head():
    model = _distiller().train()
    batch = fixtures.raw_batch(2, (32, 40), ('rgb', 'thermal'), num_classes=K, seed=0)
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert {'student.decode.loss_ce', 'distill.loss_kd'} <= set(losses)
    label_g, kd_g, bb_g = _grads(model, losses['student.decode.loss_ce'])
    assert label_g > 0 and kd_g == 0 and bb_g > 0
    label_g, kd_g, bb_g = _grads(model, losses['distill.loss_kd'])
    assert label_g == 0 and kd_g > 0 and bb_g > 0
    # the distiller's 'logits' tap is the label head, 'kd_logits' the KD head
    taps = model.student_taps
    assert taps.get('logits').shape == taps.get('kd_logits').shape == (2, K, 8, 10)


def test_one_training_step_runs():
    from mmengine.optim import OptimWrapper

    model = _distiller().train()
    optim = OptimWrapper(
        torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    )
    batch = fixtures.raw_batch(2, (32, 40), ('rgb', 'thermal'), num_classes=K, seed=1)
    head = model.student.decode_head
    before = head.conv_seg_kd.weight.detach().clone()
    log = model.train_step(batch, optim)
    assert 'distill.loss_kd' in log and 'student.decode.loss_ce' in log
    assert not torch.equal(before, head.conv_seg_kd.weight)


# ---------------------------------------------------------------- initialisation, arguments
def _init(model, seed=3):
    from mmengine.logging import MMLogger

    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('ERROR')  # init_weights logs every parameter
    try:
        torch.manual_seed(seed)
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model


def test_kd_init_copy_and_the_stock_twin_start_alike():
    dho = _init(fixtures.build(dho_student(), seed=0))
    head = dho.decode_head
    assert torch.equal(head.conv_seg.weight, head.conv_seg_kd.weight)
    assert torch.equal(head.conv_seg.bias, head.conv_seg_kd.bias)
    stock = _init(
        fixtures.build(
            fixtures.student_cfg(K, num_heads=HEADS_2, head=fixtures.seg_head(K, 8, HEADS_2)),
            seed=0,
        )
    )
    sd, ref = dho.state_dict(), stock.state_dict()
    assert set(sd) - set(ref) == {'decode_head.conv_seg_kd.weight', 'decode_head.conv_seg_kd.bias'}
    assert all(torch.equal(sd[k], ref[k]) for k in ref)
    # a second init_weights (mmengine: already initialised) does not re-copy trained weights
    with torch.no_grad():
        head.conv_seg_kd.weight.add_(1.0)
    _init(dho)
    assert not torch.equal(head.conv_seg.weight, head.conv_seg_kd.weight)


def test_kd_init_independent():
    head = _init(fixtures.build(dho_student(kd_init='independent'), seed=0)).decode_head
    assert not torch.equal(head.conv_seg.weight, head.conv_seg_kd.weight)
    assert (
        float(head.conv_seg_kd.weight.detach().std()) < 0.05
    )  # normal(0, 0.01), as mmseg's conv_seg
    assert float(head.conv_seg_kd.bias.detach().abs().max()) == 0.0


@pytest.mark.parametrize('alpha', [-0.1, 1.5, float('nan'), True, '0.5', None])
def test_bad_alpha_is_refused(alpha):
    with pytest.raises(ValueError, match='alpha'):
        tiny_head(alpha=alpha)
    head = tiny_head()
    with pytest.raises(ValueError, match='alpha'):
        head.alpha = alpha
    assert head.alpha == 0.5


def test_bad_kd_init_is_refused():
    with pytest.raises(ValueError, match='kd_init'):
        tiny_head(kd_init='zeros')


def test_check_alpha_accepts_ints_and_edges():
    assert check_alpha(0) == 0.0 and check_alpha(1) == 1.0 and check_alpha(0.25) == 0.25


def test_registered_in_mmseg_models():
    from mmseg.registry import MODELS

    import crossmodal.models.heads as heads

    assert MODELS.get('DualHeadSegformerHead') is DualHeadSegformerHead
    assert 'DualHeadSegformerHead' in heads.__all__
