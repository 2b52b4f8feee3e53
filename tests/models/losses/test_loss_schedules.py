"""Tests of LossWeightSchedule (hand-computed values)."""

import math

import pytest

from crossmodal.models.losses import LossWeightSchedule


def test_constant_and_linear_warmup():
    assert [LossWeightSchedule()(i) for i in (0, 10, 10_000)] == [1.0, 1.0, 1.0]
    s = LossWeightSchedule('linear_warmup', warmup_iters=4)
    assert [s(i) for i in range(6)] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    s = LossWeightSchedule('constant', warmup_iters=2, warmup_start=0.5)
    assert [s(i) for i in range(3)] == [0.5, 0.75, 1.0]


def test_cosine_decay_after_warmup():
    s = LossWeightSchedule('cosine_decay', warmup_iters=2, decay_iters=4, min_factor=0.2)
    # i=2: start of decay -> 1 ; i=4: half way -> 0.2 + 0.8*0.5 = 0.6 ; i>=6 -> 0.2
    assert s(1) == 0.5
    assert s(2) == pytest.approx(1.0)
    assert s(3) == pytest.approx(0.2 + 0.8 * 0.5 * (1 + math.cos(math.pi / 4)))
    assert s(4) == pytest.approx(0.6)
    assert s(6) == pytest.approx(0.2) and s(100) == pytest.approx(0.2)


def test_step_and_bad_args():
    s = LossWeightSchedule('step', milestones=[3, 5], gamma=0.5)
    assert [s(i) for i in (0, 2, 3, 4, 5, 9)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    with pytest.raises(ValueError, match='kind'):
        LossWeightSchedule('exp')
    with pytest.raises(ValueError, match='warmup_iters > 0'):
        LossWeightSchedule('linear_warmup')
    with pytest.raises(ValueError, match='decay_iters > 0'):
        LossWeightSchedule('cosine_decay')
