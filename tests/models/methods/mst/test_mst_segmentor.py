"""MSTDistillSegmentor: what trains in each stage, masking hooks, routing, input routing, errors."""

import copy

import pytest
import torch
from mst_helpers import EXPERTS, build, make_batch, mst_cfg

PARTS = ('student', 'teachers', 'masknets', 'gate')


def part_of(key):
    return key.split('.')[0]


def one_step(model, seed=0):
    """One SGD step on the stage's loss; returns (state before, state after, log vars)."""
    model.train()
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    data = model.data_preprocessor(make_batch(seed=seed), True)
    losses = model(**data, mode='loss')
    total, log_vars = model.parse_losses(losses)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=0.5)
    opt.zero_grad()
    total.backward()
    opt.step()
    after = model.state_dict()
    return before, after, log_vars


def changed_parts(before, after):
    out = {}
    for k, v in before.items():
        p = part_of(k)
        out.setdefault(p, False)
        if not torch.equal(v, after[k]):
            out[p] = True
    return out


@pytest.mark.parametrize(
    'stage,train_teachers,trainable',
    [
        ('warmup', True, {'student', 'teachers'}),
        ('warmup', False, {'student'}),
        ('mask', True, {'masknets'}),
        ('route', True, {'student', 'gate'}),
    ],
)
def test_stage_trainable_frozen_and_step(stage, train_teachers, trainable):
    torch.manual_seed(0)
    model = build(mst_cfg(stage, warmup_train_teachers=train_teachers))
    model.train()
    for part in PARTS:
        module = getattr(model, part)
        flags = {p.requires_grad for p in module.parameters()}
        assert flags == {part in trainable}, (part, flags)
        # frozen parts stay in eval mode (BN statistics and dropout fixed) while training
        assert all(m.training == (part in trainable) for m in module.modules()), part
    before, after, _ = one_step(model)
    changed = changed_parts(before, after)
    for part in PARTS:
        assert changed[part] == (part in trainable), (stage, part, changed)
    if stage == 'route':
        assert not torch.equal(before['route_counts'], after['route_counts'])
    else:
        assert torch.equal(before['route_counts'], after['route_counts'])


def test_warmup_mutual_losses_and_undetached_targets():
    model = build(mst_cfg('warmup'))
    model.train()
    data = model.data_preprocessor(make_batch(), True)
    losses = model(**data, mode='loss')
    kd_keys = sorted(k for k in losses if k.startswith('mst.loss_kd.'))
    assert kd_keys == sorted(
        f'mst.loss_kd.{a}_from_{b}'
        for a in ('student', 'rgbd', 'depth')
        for b in ('student', 'rgbd', 'depth')
        if a != b
    )
    assert {'mst.rgbd.decode.loss_ce', 'mst.depth.decode.loss_ce', 'student.decode.loss_ce'} <= set(
        losses
    )
    # code-faithful: KD(student <- rgbd) also sends gradient into the rgbd teacher
    losses['mst.loss_kd.student_from_rgbd'].backward()
    assert any(
        p.grad is not None and p.grad.abs().sum() > 0 for p in model.teachers.rgbd.parameters()
    )
    model = build(mst_cfg('warmup', warmup_detach_targets=True))
    model.train()
    losses = model(**model.data_preprocessor(make_batch(), True), mode='loss')
    losses['mst.loss_kd.student_from_rgbd'].backward()
    assert all(p.grad is None for p in model.teachers.rgbd.parameters())


def test_mask_hooks_are_active_only_in_expert_forwards():
    torch.manual_seed(0)
    model = build(mst_cfg('mask'))
    model.eval()
    assert {k: m.channels for k, m in model.masknets.items()} == {
        'rgbd_stage4': 64,
        'rgbd_head': 16,
        'depth_stage4': 64,
        'depth_head': 16,
    }
    assert model.expert_names == EXPERTS
    data = model.data_preprocessor(make_batch(), False)
    with torch.no_grad():
        plain = model.teachers.depth._forward(model.teacher_inputs('depth', data['inputs']))
        expert = model.expert_logits('depth_stage4', data['inputs'])
        plain_again = model.teachers.depth._forward(model.teacher_inputs('depth', data['inputs']))
        rgbd_head = model.expert_logits('rgbd_head', data['inputs'])
    assert not torch.allclose(plain, expert)
    torch.testing.assert_close(plain, plain_again)
    assert rgbd_head.shape == plain.shape
    # the hooked output is m * x: with a mask of ones the expert equals the plain teacher
    net = model.masknets['depth_head']
    with torch.no_grad():
        net.fc.weight.zero_()
        net.fc.bias.fill_(60.0)  # sigmoid(60) == 1 in float32
        torch.testing.assert_close(model.expert_logits('depth_head', data['inputs']), plain)


def test_stock_teacher_gets_its_own_normalisation():
    model = build(mst_cfg('route'))
    batch = make_batch()
    data = model.data_preprocessor(batch, False)
    x = model.teacher_inputs('depth', data['inputs'])
    raw = torch.stack([b['depth'] for b in batch['inputs']])
    torch.testing.assert_close(x, (raw - 6.0) / 3.0)
    t = model.teacher_inputs('rgbd', data['inputs'])
    assert set(t) == {'rgb', 'depth'}


@pytest.mark.parametrize('route', ['image', 'pixel'])
def test_route_logging_and_counts(route):
    torch.manual_seed(0)
    model = build(mst_cfg('route', route=route, top_k=2))
    _, _, log_vars = one_step(model)
    fracs = [log_vars[f'mst.route_frac.{e}'] for e in EXPERTS]
    assert sum(fracs) == pytest.approx(1.0)
    assert all(f'mst.gate_prob.{e}' in log_vars for e in EXPERTS)
    # top-2: each image (pixel) counts for two experts
    units = 2 if route == 'image' else 2 * 8 * 10
    assert float(model.route_counts.sum()) == 2 * units
    assert sum(model.routing_fractions().values()) == pytest.approx(1.0)
    assert 'mst.route_frac.rgbd_stage4' not in {k for k in log_vars if 'loss' in k}


def test_gate_input_detach_flag():
    for detach, reaches in ((True, False), (False, True)):
        model = build(mst_cfg('route', gate_detach_input=detach))
        model.train()
        losses = model(**model.data_preprocessor(make_batch(), True), mode='loss')
        losses['mst.loss_lb'].backward()
        got = any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.student.parameters())
        assert got == reaches
        assert any(p.grad is not None for p in model.gate.parameters())


def test_unmasked_experts_extend_j():
    model = build(mst_cfg('route', unmasked_experts=True))
    assert model.expert_names == EXPERTS + ['rgbd', 'depth']
    assert model.gate.num_experts == 6
    _, _, log_vars = one_step(model)
    assert 'mst.route_frac.depth' in log_vars


def test_predict_is_the_student():
    model = build(mst_cfg('route'))
    model.eval()
    data = model.data_preprocessor(make_batch(), False)
    with torch.no_grad():
        out = model(**data, mode='tensor')
        ref = model.student._forward(model.student_inputs(data['inputs']))
    torch.testing.assert_close(out, ref)


def test_config_errors():
    cfg = mst_cfg('warmup')
    bad = copy.deepcopy(cfg)
    bad['teachers']['rgbd']['frozen'] = True
    with pytest.raises(ValueError, match='frozen'):
        build(bad)
    with pytest.raises(ValueError, match='stage'):
        build(mst_cfg('distill'))
    with pytest.raises(ValueError, match='unknown teachers'):
        build(mst_cfg('mask', mask_layers=dict(thermal=dict(stage4='backbone[3]'))))
    with pytest.raises(ValueError, match='top_k'):
        build(mst_cfg('route', top_k=5))
    with pytest.raises(ValueError, match='B, C, H, W'):
        build(mst_cfg('mask', mask_layers=dict(depth=dict(all='backbone'))))
    with pytest.raises(KeyError, match='does not exist'):
        build(mst_cfg('mask', mask_layers=dict(depth=dict(x='decode_head.fusion'))))


def test_mask_layer_errors_name_the_layer():
    """A container that never runs, or a list output without [i], is refused at construction."""
    for layers, match in (
        (dict(depth=dict(bad='backbone.layers')), 'recorded nothing'),
        (dict(depth=dict(bad='backbone')), 'index a list output'),
    ):
        with pytest.raises((RuntimeError, ValueError), match=match):
            build(mst_cfg('mask', mask_layers=layers))
