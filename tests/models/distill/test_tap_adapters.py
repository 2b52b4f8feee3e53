"""'@qk' tap adapter: per-head (q, k) of a MiT attention layer as a distillation tap."""

import math

import pytest
import torch
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS

import crossmodal  # noqa: F401
from crossmodal.models.distill.tap_adapters import QueryKeyPair
from crossmodal.models.distill.taps import TapRecorder, split_adapter
from distill_helpers import make_batch, mit


def _build(cfg):
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(cfg)


def test_split_adapter():
    assert split_adapter('backbone.layers.2.1.0.attn@qk') == ('backbone.layers.2.1.0.attn', 'qk')
    assert split_adapter('backbone[3]') == ('backbone[3]', None)
    with pytest.raises(ValueError, match='adapter'):
        split_adapter('backbone@')


@pytest.mark.parametrize('cls', ['MixVisionTransformer', 'MixVisionTransformerSDPA'])
def test_qk_tap_reproduces_the_layers_attention_map(cls):
    torch.manual_seed(0)
    bb = _build(mit(cls=cls)).eval()
    attn = bb.layers[2][1][0].attn  # stage 3: 5 heads of d = 8, sr_ratio 2
    seen = {}
    h = attn.register_forward_hook(lambda m, a, o: seen.update(x=a[0], hw=a[1]))
    rec = TapRecorder(bb, dict(a='layers.2.1.0.attn@qk'), 'backbone')
    bb(torch.randn(2, 3, 64, 80))
    h.remove()
    pair = rec.get('a')
    assert isinstance(pair, QueryKeyPair) and len(pair) == 2
    q, k = pair
    assert pair.hw_shape == (4, 5)
    assert q.shape == (2, 5, 20, 8) and k.shape == (
        2,
        5,
        4,
        8,
    )  # keys: 2x2 stride-2 conv on 4x5 -> 2x2
    # the map softmax(q k^T / sqrt(d)) equals nn.MultiheadAttention's own per-head weights
    x, hw = seen['x'], seen['hw']
    x_kv = attn.norm(attn.sr(x.transpose(1, 2).reshape(2, -1, *hw)).flatten(2).transpose(1, 2))
    x, x_kv = (
        x.transpose(0, 1),
        x_kv.transpose(0, 1),
    )  # the inner nn.MultiheadAttention is (N, B, C)
    _, ref = attn.attn(query=x, key=x_kv, value=x_kv, need_weights=True, average_attn_weights=False)
    ours = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(8), dim=-1)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)


def test_qk_tap_errors():
    bb = _build(mit())
    with pytest.raises(TypeError, match='EfficientMultiheadAttention'):
        TapRecorder(bb, dict(a='layers.2.1.0.norm1@qk'), 'student')
    with pytest.raises(KeyError, match='unknown tap adapter'):
        TapRecorder(bb, dict(a='layers.2.1.0.attn@nope'), 'student')
    with pytest.raises(KeyError, match='does not exist'):
        TapRecorder(bb, dict(a='layers.9.1.0.attn@qk'), 'student')


def test_attention_kd_through_qk_taps_trains_the_student_attention(teacher_ckpt, tiny_cfgs):
    student, teacher = tiny_cfgs
    model = _build(
        dict(
            type='DistillSegmentor',
            student=student,
            student_modalities=('rgb',),
            teachers=dict(
                rgbt=dict(
                    config=teacher,
                    checkpoint=teacher_ckpt,
                    modalities=('rgb', 'thermal'),
                    taps=dict(a='backbones.thermal.layers.3.1.0.attn@qk'),
                )
            ),
            student_taps=dict(a='backbone.layers.3.1.0.attn@qk'),  # 32x40 input: 2 keys
            student_task_loss=False,
            distill_losses=[
                dict(type='AttentionMapKDLoss', tau=math.sqrt(8), student='a', teacher='rgbt.a')
            ],
        )
    )
    data = model.data_preprocessor(make_batch(), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert set(losses) == {'distill.loss_attn_kd'}
    value = losses['distill.loss_attn_kd']
    assert torch.isfinite(value) and value.item() > 0
    value.backward()
    w = model.student.backbone.layers[3][1][0].attn.attn.in_proj_weight
    c = w.shape[1]
    assert w.grad[: 2 * c].abs().sum() > 0  # q and k projections receive gradient
    assert w.grad[2 * c :].abs().sum() == 0  # v does not enter the attention map
    assert all(p.grad is None for p in model.teachers.parameters())
