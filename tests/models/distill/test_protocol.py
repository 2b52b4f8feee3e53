"""The engine's loss protocol and teacher container, exercised by a toy method defined here only:
a new loss-based method needs no engine change (a loss with ``needs`` / ``update`` / ``log_vars``
and a ``LossInput``), and teachers are loaded strictly and survive ``init_weights``."""

import pytest
import torch
import torch.nn as nn
from mmseg.registry import MODELS

from crossmodal.models.distill import DistillSegmentor, TeacherCheckpointError
from crossmodal.models.distill.protocol import DistillStep, LossInput, register_loss_input
from crossmodal.utils import checkpoints

from distill_helpers import make_batch, student_cfg, teacher_cfg
from test_distill_segmentor import build, optim, set_iter


@register_loss_input
class ToyScale(LossInput):
    """Provides ``scale`` from the loss spec's ``toy`` key and counts its calls per step."""

    name = 'toy_scale'
    spec_key = 'toy'

    def __call__(self, step: DistillStep, spec: dict):
        assert step.student_input.dim() == 4 and step.model.student is not None
        step.cache['toy_calls'] = step.cache.get('toy_calls', 0) + 1
        return {'scale': float(self.options.get('scale', 1.0))}


@MODELS.register_module(force=True)
class ToyStatefulLoss(nn.Module):
    needs = ('toy_scale',)

    def __init__(self):
        super().__init__()
        self.register_buffer('count', torch.tensor(0.0))
        self.seen = []

    def forward(self, s, t, gt=None, scale=None):
        self.seen.append(scale)
        return scale * (s - t.detach()).pow(2).mean()

    def update(self, loss_value, step, total_steps):
        self.count += 1

    def log_vars(self):
        return {'count': float(self.count)}


def test_a_new_loss_plugs_in_without_engine_changes(teacher_ckpt):
    model = build(
        teacher_ckpt,
        losses=[
            dict(
                type='ToyStatefulLoss',
                student='logits',
                teacher='rgbt.logits',
                toy=dict(scale=3.0),
                name='toy',
            )
        ],
    )
    set_iter(0)
    log = model.train_step(make_batch(), optim(model))
    loss = model.distill_losses[0]
    assert loss.seen == [3.0]
    assert 'distill.loss_toy' in log and log['distill.loss_toy.count'] == 1.0


def test_unknown_loss_input_is_an_error(teacher_ckpt):
    @MODELS.register_module(force=True)
    class NeedsNothingKnown(ToyStatefulLoss):
        needs = ('no_such_input',)

    with pytest.raises(ValueError, match="needs the input 'no_such_input'"):
        build(
            teacher_ckpt,
            losses=[dict(type='NeedsNothingKnown', student='logits', teacher='rgbt.logits')],
        )


def test_teachers_strict_frozen_and_kept_by_init_weights(teacher_ckpt, tmp_path):
    model = build(teacher_ckpt)
    loaded = checkpoints.state_dict_of(checkpoints.load(teacher_ckpt))
    model.init_weights()
    for k, v in model.teachers['rgbt'].state_dict().items():
        assert torch.equal(v, loaded[k]), k
    assert not any(p.requires_grad for p in model.teachers.parameters())
    model.train()
    assert not model.teachers['rgbt'].training
    assert model.teachers.modalities('rgbt') == ('rgb', 'thermal')
    bad = dict(loaded)
    bad.pop(next(iter(bad)))
    path = str(tmp_path / 'bad.pth')
    torch.save({'state_dict': bad}, path)
    with pytest.raises(TeacherCheckpointError, match='missing keys 1'):
        DistillSegmentor(
            student=student_cfg(), teachers=dict(rgbt=dict(config=teacher_cfg(), checkpoint=path))
        )


def test_checkpoint_utilities():
    t = torch.zeros(2)
    sd = {'module.student.a': t, 'module.teachers.x.b': t}
    assert checkpoints.state_dict_of({'state_dict': sd}) == {'student.a': t, 'teachers.x.b': t}
    plain = checkpoints.strip_module_prefix(sd)
    assert checkpoints.select_prefix(plain, 'student.') == {'a': t}
    assert checkpoints.split_prefix(plain, 'student.') == ({'a': t}, ['teachers'])
    assert checkpoints.add_prefix({'a': t}, 'student.') == {'student.a': t}
    own = {'a': torch.zeros(2), 'b': torch.zeros(1)}
    assert checkpoints.state_dict_differences(own, {'a': torch.zeros(3), 'c': t}) == (
        ['b'],
        ['c'],
        ['a'],
    )
    assert checkpoints.matches(own, dict(own)) is None
    with pytest.raises(ValueError, match='holds no state_dict'):
        checkpoints.state_dict_of([1, 2])
