"""Iteration-dependent multipliers for distillation loss weights.

``LossWeightSchedule(...)(iteration)`` returns the factor by which an engine multiplies a loss's
weight at that (0-based) training iteration. A linear warm-up (``warmup_iters > 0``) from
``warmup_start`` to 1 is applied first for every kind (DKD's reference recipe warms its KD weight up
linearly); after it, ``kind`` decides:

* ``'constant'``: 1.
* ``'linear_warmup'``: 1 (the warm-up alone; requires ``warmup_iters > 0``).
* ``'cosine_decay'``: cosine from 1 down to ``min_factor`` over ``decay_iters`` iterations starting
  at ``warmup_iters``, then ``min_factor``.
* ``'step'``: ``gamma ** (number of milestones <= iteration)``.
"""

from __future__ import annotations

import bisect
import math
from typing import Sequence

_KINDS = ('constant', 'linear_warmup', 'cosine_decay', 'step')


class LossWeightSchedule:
    """Multiplier of a loss weight as a function of the iteration.

    Args:
        kind: ``'constant' | 'linear_warmup' | 'cosine_decay' | 'step'``.
        warmup_iters: length of the linear warm-up (0 = none). At iteration i < warmup_iters the
            warm-up factor is ``warmup_start + (1 - warmup_start) * i / warmup_iters``.
        warmup_start: factor at iteration 0 of the warm-up (default 0).
        decay_iters: length of the cosine decay (``'cosine_decay'`` only, > 0).
        min_factor: final factor of the cosine decay (default 0).
        milestones: iterations where ``'step'`` multiplies by ``gamma``.
        gamma: step factor (default 0.1).
    """

    def __init__(
        self,
        kind: str = 'constant',
        warmup_iters: int = 0,
        warmup_start: float = 0.0,
        decay_iters: int = 0,
        min_factor: float = 0.0,
        milestones: Sequence[int] = (),
        gamma: float = 0.1,
    ) -> None:
        if kind not in _KINDS:
            raise ValueError(f'LossWeightSchedule: kind must be one of {_KINDS}, got {kind!r}')
        if warmup_iters < 0 or decay_iters < 0:
            raise ValueError('LossWeightSchedule: warmup_iters and decay_iters must be >= 0')
        if kind == 'linear_warmup' and warmup_iters == 0:
            raise ValueError("LossWeightSchedule: kind='linear_warmup' needs warmup_iters > 0")
        if kind == 'cosine_decay' and decay_iters == 0:
            raise ValueError("LossWeightSchedule: kind='cosine_decay' needs decay_iters > 0")
        self.kind = kind
        self.warmup_iters = int(warmup_iters)
        self.warmup_start = float(warmup_start)
        self.decay_iters = int(decay_iters)
        self.min_factor = float(min_factor)
        self.milestones = sorted(int(m) for m in milestones)
        self.gamma = float(gamma)

    def __call__(self, iteration: int) -> float:
        i = max(int(iteration), 0)
        if i < self.warmup_iters:
            return self.warmup_start + (1.0 - self.warmup_start) * i / self.warmup_iters
        if self.kind in ('constant', 'linear_warmup'):
            return 1.0
        if self.kind == 'cosine_decay':
            progress = min((i - self.warmup_iters) / self.decay_iters, 1.0)
            return self.min_factor + (1.0 - self.min_factor) * 0.5 * (
                1.0 + math.cos(math.pi * progress)
            )
        return self.gamma ** bisect.bisect_right(self.milestones, i)

    def __repr__(self) -> str:
        return (
            f'LossWeightSchedule(kind={self.kind!r}, warmup_iters={self.warmup_iters}, '
            f'decay_iters={self.decay_iters}, min_factor={self.min_factor}, '
            f'milestones={self.milestones}, gamma={self.gamma})'
        )
