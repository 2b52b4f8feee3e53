"""CroDiNoKD: construction, routing, losses, backward, predict, configs (tiny sizes)."""

import os.path as osp

import pytest
import torch
from mmengine.config import Config

import crossmodal  # noqa: F401
from crodino_helpers import NUM_CLASSES, build, raw_batch, stock_cfg

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))


def test_loss_terms_backward_and_gradients_reach_everything():
    model = build().train()
    data = model.data_preprocessor(raw_batch(), True)
    losses = model(**data, mode='loss')
    for key in (
        'rgb.decode.loss_ce',
        'depth.decode.loss_ce',
        'aux_rgb.loss_ce',
        'aux_depth.loss_ce',
        'loss_con',
        'loss_orth_rgb',
        'loss_orth_depth',
    ):
        assert key in losses and torch.isfinite(losses[key]), key
    assert 'loss_mod' not in losses and model.modality_classifier is None
    total, _ = model.parse_losses(losses)
    total.backward()
    for name, mod in (('rgb', model.models.rgb), ('depth', model.models.depth)):
        for part in (mod.backbone, mod.decode_head.fusion_conv, mod.decode_head.conv_seg):
            grads = [p.grad for p in part.parameters() if p.requires_grad]
            assert grads and all(g is not None for g in grads), name
            assert sum(g.abs().sum() for g in grads) > 0, name
    assert model.aux_head.conv_seg.weight.grad.abs().sum() > 0


def test_contrastive_term_couples_the_two_models():
    # only the contrastive term: the RGB backbone gets a gradient that depends on the depth model
    model = build(lambda_aux=0.0, lambda_orth=0.0).train()
    assert model.aux_head is None
    data = model.data_preprocessor(raw_batch(), True)
    losses = model(**data, mode='loss')
    assert set(k for k in losses if 'loss' in k) == {
        'rgb.decode.loss_ce',
        'depth.decode.loss_ce',
        'loss_con',
    }
    losses['loss_con'].backward()
    assert model.models.rgb.backbone.layers[0][0].projection.weight.grad.abs().sum() > 0
    assert model.models.depth.backbone.layers[0][0].projection.weight.grad.abs().sum() > 0
    assert model.models.rgb.decode_head.conv_seg.weight.grad is None  # z is before conv_seg


def test_split_is_fusion_conv_channels():
    model = build().eval()
    assert model.z_dim == 8  # C/2 of 16 head channels
    assert model.modalities == ('rgb', 'depth')
    data = model.data_preprocessor(raw_batch(void=False), False)
    x = model.model_inputs('rgb', data['inputs'])
    feats = model.models.rgb.extract_feat(x)
    model.taps['rgb'].clear()
    logits = model.models.rgb.decode_head(feats)
    z = model.taps['rgb'].get('z')
    zi, zs = model.split(z)
    assert zi.shape[1] == zs.shape[1] == 8 and zi.shape[2:] == logits.shape[2:]
    # the main decoder D_m is conv_seg on concat(z_inv, z_spe)
    torch.testing.assert_close(
        model.models.rgb.decode_head.conv_seg(torch.cat([zi, zs], 1)), logits
    )


def test_each_model_gets_its_modality_in_its_own_normalisation():
    from mmseg.registry import MODELS

    model = build().eval()
    raw = raw_batch(void=False)
    data = model.data_preprocessor(raw, False)
    # RGB: bit-identical to the stock SegDataPreProcessor of the RGB model
    stock_dp = MODELS.build(stock_cfg()['data_preprocessor'])
    ref = stock_dp(
        dict(inputs=[d['rgb'] for d in raw['inputs']], data_samples=raw['data_samples']), False
    )['inputs']
    assert torch.equal(model.model_inputs('rgb', data['inputs']), ref)
    depth_dp = MODELS.build(stock_cfg(1, [6.0], [3.0])['data_preprocessor'])
    ref_d = depth_dp(
        dict(inputs=[d['depth'] for d in raw['inputs']], data_samples=raw['data_samples']), False
    )['inputs']
    assert torch.equal(model.model_inputs('depth', data['inputs']), ref_d)
    with pytest.raises(KeyError, match='depth'):
        model.model_inputs('depth', {'rgb': data['inputs']['rgb']})


def test_predict_writes_both_models_and_tensor_mode():
    model = build().eval()
    data = model.data_preprocessor(raw_batch(void=False), False)
    with torch.no_grad():
        out = model(**data, mode='predict')
        logits = model(data['inputs'], mode='tensor')
    assert logits.shape == (2, NUM_CLASSES, 8, 12)
    s = out[0]
    assert s.pred_sem_seg.data.shape == (1, 32, 48)
    assert torch.equal(s.pred_sem_seg.data, s.pred_sem_seg_rgb.data)
    assert s.pred_sem_seg_depth.data.shape == (1, 32, 48)
    model.branch = 'depth'
    with torch.no_grad():
        out_d = model(**model.data_preprocessor(raw_batch(void=False), False), mode='predict')
    assert torch.equal(out_d[0].pred_sem_seg.data, out_d[0].pred_sem_seg_depth.data)


def test_multi_head_metric_scores_both_models():
    from mmseg.registry import METRICS

    model = build().eval()
    raw = raw_batch(void=False)
    with torch.no_grad():
        out = model.test_step(raw)
    metric = METRICS.build(
        dict(
            type='MultiHeadIoUMetric',
            heads=dict(rgb='pred_sem_seg_rgb', depth='pred_sem_seg_depth'),
            main='rgb',
        )
    )
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    metric.process(raw, [o.to_dict() for o in out])
    res = metric.compute_metrics(metric.results)
    assert {'mIoU', 'mIoU_rgb', 'mIoU_depth'} <= set(res)
    assert res['mIoU'] == res['mIoU_rgb']


def test_modality_classifier_option():
    model = build(lambda_mod=0.5).train()
    losses = model(**model.data_preprocessor(raw_batch(), True), mode='loss')
    assert torch.isfinite(losses['loss_mod'])


def test_rgb_model_init_matches_its_standalone_twin():
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    init_default_scope('mmseg')
    torch.manual_seed(0)
    twin = MODELS.build(stock_cfg())
    model = build()
    for (k, a), (_, b) in zip(twin.state_dict().items(), model.models.rgb.state_dict().items()):
        assert torch.equal(a, b), k


def test_bad_configs():
    with pytest.raises(ValueError, match='exactly two'):
        build(models=dict(rgb=stock_cfg()))
    with pytest.raises(ValueError, match='z_dim'):
        build(z_dim=6)  # orthogonality needs C/2
    assert build(z_dim=6, lambda_orth=0.0).z_dim == 6
    with pytest.raises(ValueError, match='same channels'):
        build(models=dict(rgb=stock_cfg(), depth=stock_cfg(1, [6.0], [3.0], channels=32)))
    with pytest.raises(ValueError, match='branch'):
        build(branch='thermal')
    with pytest.raises(FileNotFoundError, match='nope.py'):
        build(models=dict(rgb='nope.py', depth=stock_cfg(1, [6.0], [3.0])))
    bad = stock_cfg()
    bad['decode_head'] = dict(
        type='FCNHead',
        in_channels=32,
        in_index=3,
        channels=16,
        num_convs=1,
        num_classes=NUM_CLASSES,
    )
    with pytest.raises(ValueError, match='fusion_conv'):
        build(models=dict(rgb=bad, depth=stock_cfg(1, [6.0], [3.0])))


def test_aux_head_uses_the_main_class_weights():
    model = build(
        models=dict(
            rgb=stock_cfg(class_weight=[0.25, 1.0, 1.0]),
            depth=stock_cfg(1, [6.0], [3.0], class_weight=[0.25, 1.0, 1.0]),
        )
    )
    assert type(model.aux_head.loss_decode).__name__ == 'WeightedCrossEntropyLoss'
    assert list(model.aux_head.loss_decode.class_weight) == [0.25, 1.0, 1.0]


@pytest.mark.parametrize(
    'name',
    [
        'crodino_segformer_mit-t_600it_synthetic-rgbd-128x160.py',
        'crodino_segformer_mit-b0_80k_nyudv2-rgbd-480x640.py',
    ],
)
def test_configs_parse_and_build(name):
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS, TRANSFORMS

    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'distill', 'crodino', name))
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'CroDiNoKD' and model.branch == 'rgb'
    assert model.z_dim * 2 == model.models.rgb.decode_head.channels
    assert model.models.depth.backbone.layers[0][0].projection.in_channels == 1
    assert model.loss_con.tau == 0.1
    assert cfg.val_evaluator.heads == dict(rgb='pred_sem_seg_rgb', depth='pred_sem_seg_depth')
    types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert 'DepthPhotometricAug' in types and 'ModalityPhotometricAug' in types
    for t in cfg.train_dataloader.dataset.pipeline:
        TRANSFORMS.build(t)
    if 'nyudv2' in name:
        assert model.models.rgb.decode_head.num_classes == 40
        assert model.loss_con.pixels_per_img == 2048 and model.z_dim == 128
