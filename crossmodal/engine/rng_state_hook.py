"""``RNGStateHook``: exact resume for iteration-based training.

mmengine restores weights, optimizer, schedulers and the data position on ``--resume``, but not
the global torch random state that dropout and drop-path draw from, so a resumed run drifts from
an uninterrupted one. This hook stores torch's CPU (and CUDA) generator states in every
checkpoint and restores them right before the first training iteration after a resume (after
mmengine has fast-forwarded the dataloader, whose own randomness is replayed deterministically
from the seed). With ``randomness=dict(seed=..., deterministic=True)`` a resumed run then ends with
the same weights as an uninterrupted one (tests/e2e).
"""

from __future__ import annotations

import torch
from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class RNGStateHook(Hook):
    priority = 'VERY_LOW'

    def __init__(self):
        self._pending = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = {'torch': torch.get_rng_state()}
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state['cuda'] = torch.cuda.get_rng_state_all()
        checkpoint['rng_state'] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._pending = checkpoint.get('rng_state')

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self._pending is None:
            return
        state, self._pending = self._pending, None
        torch.set_rng_state(state['torch'])
        if 'cuda' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])
