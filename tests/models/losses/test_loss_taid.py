"""Golden tests of TAID: the interpolated loss, the adaptive t schedule and checkpointing of t."""

import math

import pytest
import torch
import torch.nn as nn

from crossmodal.compat import load_checkpoint_file
from crossmodal.models.losses import TAIDLoss


def test_taid_hand_worked_loss():
    # K=2, one pixel, t = 0.5. Student [0, 0], teacher [2 ln 3, 0].
    # target logits = 0.5*[0,0] + 0.5*[2 ln 3, 0] = [ln 3, 0] -> p_t = [3/4, 1/4]; q_S = [1/2, 1/2]
    # KL = 0.75 ln 1.5 + 0.25 ln 0.5 = 0.130812 ; cross-entropy = -(ln 0.5) = ln 2 = 0.693147
    s = torch.zeros(1, 2, 1, 1)
    t = torch.tensor([2 * math.log(3), 0.0]).view(1, 2, 1, 1)
    assert TAIDLoss(t_start=0.5)(s, t).item() == pytest.approx(0.130812, abs=1e-6)
    assert TAIDLoss(t_start=0.5, as_cross_entropy=True)(s, t).item() == pytest.approx(
        0.693147, abs=1e-6
    )


def test_taid_target_is_detached_student():
    s = torch.zeros(1, 2, 1, 1, requires_grad=True)
    t = torch.tensor([2 * math.log(3), 0.0]).view(1, 2, 1, 1)
    TAIDLoss(t_start=0.5)(s, t).backward()
    # d/dz_S KL(p_t || softmax(z_S)) with p_t constant = q_S - p_t = [0.5-0.75, 0.5-0.25]
    assert s.grad.view(-1).tolist() == pytest.approx([-0.25, 0.25], abs=1e-6)


def test_taid_update_hand_worked():
    # t_start 0.4, t_end 1, alpha 1, beta 0.5, total 10 steps.
    # update(J=2, step=1): no previous loss -> r=0, m=0; delta = 1*sigmoid(0)*(1-0.4) = 0.3
    #   t_lin = 0.4 + 0.6*0.1 = 0.46 -> t = max(0.46, 0.7) = 0.7
    # update(J=1, step=2): r = (2-1)/2 = 0.5, m = 0.5*0 + 0.5*0.5 = 0.25
    #   delta = sigmoid(0.25)*(1-0.7) = 0.562177*0.3 = 0.168653 -> t = 0.868653 (t_lin = 0.52)
    # update(J=1, step=3): r = 0, m = 0.125; delta = sigmoid(0.125)*0.131347 = 0.069773
    #   -> t = 0.938426
    loss = TAIDLoss(t_start=0.4, t_end=1.0, alpha=1.0, beta=0.5)
    assert loss.update(2.0, 1, 10) == pytest.approx(0.7, abs=1e-9)
    assert loss.update(torch.tensor(1.0), 2, 10) == pytest.approx(0.868653, abs=1e-6)
    assert loss.update(1.0, 3, 10) == pytest.approx(0.938426, abs=1e-6)
    assert float(loss.momentum) == pytest.approx(0.125)
    # non-adaptive: linear floor only, capped at t_end
    lin = TAIDLoss(t_start=0.4, t_end=0.9, adaptive=False)
    assert lin.update(5.0, 5, 10) == pytest.approx(0.65)
    assert lin.update(5.0, 20, 10) == pytest.approx(0.9)
    with pytest.raises(ValueError, match='total_steps'):
        lin.update(1.0, 1, 0)


def test_taid_state_round_trips_through_checkpoint(tmp_path):
    model = nn.ModuleDict({'taid': TAIDLoss(alpha=0.5)})
    for step, j in enumerate([3.0, 2.0, 1.5], start=1):
        model['taid'].update(j, step, 100)
    state = model.state_dict()
    assert {'taid.t', 'taid.momentum', 'taid.prev_loss'} <= set(state)
    path = tmp_path / 'ckpt.pth'
    torch.save({'state_dict': state}, path)
    restored = nn.ModuleDict({'taid': TAIDLoss(alpha=0.5)})
    assert float(restored['taid'].t) == pytest.approx(0.4)
    restored.load_state_dict(load_checkpoint_file(str(path))['state_dict'])
    for name in ('t', 'momentum', 'prev_loss'):
        assert float(getattr(restored['taid'], name)) == float(getattr(model['taid'], name))
    assert float(restored['taid'].t) > 0.4
    # and the restored t is the one used by forward
    s, t = torch.randn(1, 3, 2, 2), torch.randn(1, 3, 2, 2)
    assert restored['taid'](s, t).item() == pytest.approx(model['taid'](s, t).item(), rel=1e-6)
