"""The contract every segmentor of the project keeps, as one base class of tests (after
segmentation_models_pytorch's ``BaseModelTester``). A model's test subclasses it with a tiny config:

    class TestMyModel(SegmentorContract):
        def make_cfg(self, tmp_path): return <tiny model config>
        def make_batch(self): return <raw packed batch, as the dataloader yields it>

and optionally ``preserved_prefixes`` (modules loaded from a checkpoint that ``init_weights()``
must leave alone, e.g. frozen teachers), ``no_grad_ok`` (trainable parameters this configuration
does not train, each with its reason), ``pred_field`` (``'pred_sem_seg'`` or ``'pred_regression'``)
and :meth:`export` (the deployable form; skipped with ``export_skip`` as the reason otherwise).

Tests: loss / predict / tensor modes (shapes, finite values, backward reaching every trainable
parameter), a strict state-dict round trip (same outputs), ``init_weights()`` initialising every
MixVisionTransformer (and no preserved one) and the export.
"""

import copy
import math

import pytest
import torch

import fixtures


def _tensors(obj):
    if torch.is_tensor(obj):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _tensors(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _tensors(v)


def _mits(model):
    from mmseg.models.backbones import MixVisionTransformer

    return {n: m for n, m in model.named_modules() if isinstance(m, MixVisionTransformer)}


class SegmentorContract:
    preserved_prefixes = ()  # module paths init_weights() must not change (checkpoint-loaded)
    no_grad_ok = {}  # {parameter-name prefix: why this configuration does not train it}
    pred_field = 'pred_sem_seg'
    num_classes = 4
    export_skip = None  # reason the model has no export (then test_export skips)

    # ------------------------------------------------------------------ to override
    def make_cfg(self, tmp_path):
        raise NotImplementedError

    def make_batch(self):
        raise NotImplementedError

    def export(self, model, data, tmp_path):
        """``(got, want)``: the exported model's output and the model's own on ``data``."""
        pytest.skip(self.export_skip or 'no export for this model')

    # ------------------------------------------------------------------ helpers
    @pytest.fixture
    def cfg(self, tmp_path):
        return self.make_cfg(tmp_path)

    def build(self, cfg, seed=0):
        from mmengine.config import ConfigDict

        return fixtures.build(ConfigDict(cfg), seed=seed)  # as the Runner builds (test_cfg.mode)

    def data(self, model, training):
        return model.data_preprocessor(copy.deepcopy(self.make_batch()), training)

    def batch_size(self):
        return len(self.make_batch()['data_samples'])

    # ------------------------------------------------------------------ the contract
    def test_loss_mode_backward_reaches_every_trainable_parameter(self, cfg):
        model = self.build(cfg)
        model.train()
        data = self.data(model, True)
        losses = model(**data, mode='loss')
        assert any('loss' in k for k in losses), sorted(losses)
        for k, v in losses.items():
            for t in _tensors(v):
                assert torch.isfinite(t).all(), k
        total, _ = model.parse_losses(losses)
        assert math.isfinite(float(total))
        total.backward()
        missing = [
            n
            for n, p in model.named_parameters()
            if p.requires_grad and p.grad is None and not n.startswith(tuple(self.no_grad_ok))
        ]
        assert not missing, f'{len(missing)} trainable parameters got no gradient: {missing[:10]}'
        for n, p in model.named_parameters():
            if p.grad is not None:
                assert torch.isfinite(p.grad).all(), n
        # what is declared untrained really is (a stale entry would hide a regression)
        for prefix in self.no_grad_ok:
            assert any(n.startswith(prefix) for n, _ in model.named_parameters()), prefix

    def test_predict_mode(self, cfg):
        model = self.build(cfg).eval()
        data = self.data(model, False)
        with torch.no_grad():
            outs = model(**data, mode='predict')
        assert len(outs) == self.batch_size()
        for s in outs:
            pred = s.get(self.pred_field).data
            assert tuple(pred.shape[-2:]) == tuple(s.ori_shape)
            assert torch.isfinite(pred.float()).all()
            if self.pred_field == 'pred_sem_seg':
                assert pred.min() >= 0 and pred.max() < self.num_classes

    def test_tensor_mode(self, cfg):
        model = self.build(cfg).eval()
        data = self.data(model, False)
        with torch.no_grad():
            out = model(**data, mode='tensor')
        ts = list(_tensors(out))
        assert ts
        for t in ts:
            assert t.shape[0] == self.batch_size() and torch.isfinite(t).all()

    def test_state_dict_round_trip(self, cfg):
        a, b = self.build(cfg, seed=0).eval(), self.build(cfg, seed=1).eval()
        sa = a.state_dict()
        assert any(not torch.equal(v, b.state_dict()[k]) for k, v in sa.items())  # really different
        b.load_state_dict(copy.deepcopy(sa), strict=True)
        data = self.data(a, False)
        with torch.no_grad():
            want = list(_tensors(a(**data, mode='tensor')))
            got = list(_tensors(b(**copy.deepcopy(data), mode='tensor')))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert torch.equal(g, w)

    def test_init_weights_initialises_every_backbone(self, cfg):
        model = self.build(cfg)
        mits = _mits(model)
        assert mits, 'no MixVisionTransformer in the model'
        before = {n: {k: v.clone() for k, v in m.state_dict().items()} for n, m in mits.items()}
        model.init_weights()
        for n, m in mits.items():
            after = m.state_dict()
            changed = [k for k, v in before[n].items() if not torch.equal(v, after[k])]
            if n.startswith(tuple(self.preserved_prefixes)):
                assert not changed, (
                    f'{n}: init_weights() overwrote checkpoint weights {changed[:5]}'
                )
            else:
                assert changed, f'{n}: init_weights() left the backbone as built'

    def test_export(self, cfg, tmp_path):
        model = self.build(cfg).eval()
        data = self.data(model, False)
        with torch.no_grad():
            got, want = self.export(model, data, tmp_path)
        assert got.shape == want.shape
        assert torch.allclose(got, want, atol=1e-5)
