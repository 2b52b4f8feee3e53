"""SegformerRegressionHead, RegressionEncoderDecoder (RGBI student) and the 4-channel MiT
adaptation."""

import math

import pytest
import torch
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from fskd_helpers import MIT, head_cfg, samples, student_cfg


def _sample(gt, meta=None):
    ds = SegDataSample()
    ds.gt_regression = PixelData(data=gt)
    ds.set_metainfo(meta or dict(img_shape=gt.shape[-2:], pad_shape=gt.shape[-2:]))
    return ds


def test_head_masked_l1_golden_with_nan_targets():
    head = MODELS.build(dict(head_cfg(scales=(10.0, 1.0), names=('chm', 'pai'))))
    nan = float('nan')
    # normalised predictions at the target size (no resampling): chm 1.0 (= 10 m), pai 0.5
    pred = torch.stack([torch.full((2, 2), 1.0), torch.full((2, 2), 0.5)])[None]
    gt = torch.tensor(
        [
            [[12.0, nan], [8.0, 10.0]],  # chm (m) -> /10: 1.2, -, 0.8, 1.0
            [[nan, nan], [nan, 1.5]],
        ]
    )  # pai
    losses = head.loss_by_feat(pred, [_sample(gt)])
    # chm: (0.2 + 0.2 + 0) / 3 ; pai: |0.5 - 1.5| / 1
    assert losses['loss_reg_l1'].item() == pytest.approx(0.4 / 3 + 1.0, abs=1e-6)
    assert losses['mae_chm'].item() == pytest.approx(4.0 / 3, abs=1e-5)  # physical metres
    assert losses['mae_pai'].item() == pytest.approx(1.0, abs=1e-6)


def test_head_all_nan_target_gives_zero_loss_and_finite_grad():
    head = MODELS.build(dict(head_cfg(scales=(1.0,), names=('chm',))))
    pred = torch.rand(1, 1, 4, 4, requires_grad=True)
    loss = head.loss_by_feat(pred, [_sample(torch.full((1, 4, 4), float('nan')))])['loss_reg_l1']
    loss.backward()
    assert loss.item() == 0.0 and torch.isfinite(pred.grad).all()


def test_head_predict_is_physical_and_nonnegative():
    head = MODELS.build(head_cfg())
    head.eval()
    feats = [
        torch.randn(2, c, 32 // 2 ** (i + 2), 32 // 2 ** (i + 2))
        for i, c in enumerate([8, 16, 32, 64])
    ]
    pred_n = head(feats)
    assert pred_n.shape == (2, 3, 8, 8) and (pred_n >= 0).all()  # softplus
    phys = head.predict_by_feat(pred_n, [dict(img_shape=(32, 32), pad_shape=(32, 32))] * 2)
    assert phys.shape == (2, 3, 32, 32)
    up = torch.nn.functional.interpolate(
        pred_n, size=(32, 32), mode='bilinear', align_corners=False
    )
    assert torch.allclose(phys[:, 0], 10 * up[:, 0]) and torch.allclose(phys[:, 1], up[:, 1])


def test_head_bad_arguments_and_missing_targets():
    with pytest.raises(ValueError, match='target_scales'):
        MODELS.build(head_cfg(scales=(1.0, 1.0)))
    with pytest.raises(ValueError, match='activation'):
        MODELS.build(dict(head_cfg(), activation='exp'))
    head = MODELS.build(head_cfg())
    ds = SegDataSample()
    ds.set_metainfo(dict(img_shape=(8, 8)))
    with pytest.raises(KeyError, match='gt_regression'):
        head.loss_by_feat(torch.rand(1, 3, 2, 2), [ds])


def test_student_forward_backward_predict_shapes():
    model = MODELS.build(student_cfg())
    x = torch.randn(2, 4, 32, 32)
    losses = model.loss(x, samples())
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    assert model.backbone.layers[0][0].projection.weight.grad is not None
    assert model.backbone.layers[0][0].projection.weight.shape[1] == 4
    model.eval()
    with torch.no_grad():
        out = model.predict(x, samples())
        bare = model.predict(x)
    assert out[0].pred_regression.data.shape == (3, 32, 32)
    assert bare[1].pred_regression.data.shape == (3, 32, 32)
    assert 'gt_regression' in out[0]


def test_student_predict_removes_padding_and_resizes_to_ori_shape():
    model = MODELS.build(student_cfg())
    model.eval()
    ds = SegDataSample()
    # a 28x30 image padded to 32x32, originally 56x60 (resized by 0.5 in the pipeline)
    ds.set_metainfo(
        dict(img_shape=(28, 30), pad_shape=(32, 32), padding_size=[0, 2, 0, 4], ori_shape=(56, 60))
    )
    with torch.no_grad():
        out = model.predict(torch.randn(1, 4, 32, 32), [ds])
    assert out[0].pred_regression.data.shape == (3, 56, 60)


def test_data_pipeline_through_student_data_preprocessor():
    model = MODELS.build(student_cfg())
    data = dict(
        inputs=[torch.randint(0, 255, (4, 32, 32), dtype=torch.uint8)] * 2, data_samples=samples()
    )
    losses = model.train_step(data, _Opt(model))
    assert math.isfinite(losses['loss'].item())


class _Opt:
    """Minimal optim wrapper for ``train_step``."""

    def __init__(self, model):
        self.opt = torch.optim.SGD(model.parameters(), lr=0.0)

    def optim_context(self, model):
        import contextlib

        return contextlib.nullcontext()

    def update_params(self, loss):
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()


def test_rgbi_mit_adapts_rgb_pretrained_patch_embedding(tmp_path):
    rgb = MODELS.build(dict(MIT, in_channels=3))
    path = str(tmp_path / 'mit_rgb.pth')
    torch.save({'state_dict': rgb.state_dict()}, path)
    rgbi = MODELS.build(dict(MIT, in_channels=4, pretrained_path=path))
    rgbi.init_weights()
    w3 = rgb.layers[0][0].projection.weight
    w4 = rgbi.layers[0][0].projection.weight
    assert w4.shape[1] == 4
    # cyclic repetition R,G,B,R scaled by 3/4 (expected activation magnitude kept)
    assert torch.allclose(w4[:, :3], w3 * 0.75) and torch.allclose(w4[:, 3], w3[:, 0] * 0.75)
    assert torch.equal(
        rgbi.layers[3][1][0].attn.attn.in_proj_weight, rgb.layers[3][1][0].attn.attn.in_proj_weight
    )


def test_student_slide_inference_covers_the_image():
    cfg = student_cfg()
    cfg['test_cfg'] = dict(mode='slide', crop_size=(32, 32), stride=(16, 16))
    model = MODELS.build(cfg)
    model.eval()
    with torch.no_grad():
        out = model.predict(torch.randn(1, 4, 48, 48))
    pred = out[0].pred_regression.data
    assert pred.shape == (3, 48, 48) and torch.isfinite(pred).all() and (pred >= 0).all()
