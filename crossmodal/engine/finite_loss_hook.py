"""``FiniteLossHook``: a non-finite loss never reaches the weights or a checkpoint.

One NaN in an input (a corrupt depth/thermal file, a division by zero in a loss) makes the loss
NaN; mmengine then applies a NaN optimizer step, trains on, exits 0 and saves checkpoints full of
NaN. This hook, in every config (``configs/_base_/default_runtime.py`` and, for configs that
override ``custom_hooks``, :func:`crossmodal.utils.runner_setup.install_reliability_hooks`, which
``tools/train.py`` and ``tools/train_stages.py`` apply to every config they load):

- **guards the optimizer step.** Before training it wraps ``update_params`` of the run's optim
  wrapper(s) (any type: ``OptimWrapper``, ``AmpOptimWrapper``, ``CPUBF16OptimWrapper``, each
  member of an ``OptimWrapperDict``). mmengine's ``train_step`` computes the loss, then calls
  ``optim_wrapper.update_params(loss)`` (backward + step); when the loss is not finite the
  wrapper does neither, so the weights and the optimizer state stay as they were. In distributed
  runs the ranks agree (all-reduce) so that all of them skip the backward together.
- **checks after the iteration** (priority ``HIGHEST``: before ``RuntimeInfoHook`` logs the
  outputs and long before ``CheckpointHook``, ``VERY_LOW``, could save) the total loss and every
  logged term whose name contains ``loss`` (mmengine's rule for what is summed into the loss).
- ``action='raise'`` (default): raises :class:`NonFiniteLossError` naming the iteration (1-based,
  as in the log and ``iter_<n>.pth``), the non-finite terms and the batch's samples (stems and
  files from the data samples' metainfo). No checkpoint of that iteration is written; the
  previous checkpoints stay, and the message names the last one.
- ``action='skip'``: the step is not applied, the model's buffers (e.g. BatchNorm statistics the
  NaN forward pass updated) are restored to their state before the iteration, the non-finite
  terms are left out of the logged averages, and a warning names the iteration, the terms, the
  samples and the count so far. ``max_consecutive_skips`` skips in a row raise
  :class:`NonFiniteLossError` (the run is diverging, not hitting one bad sample). The count is
  stored in checkpoints and survives ``--resume``; the end of training logs the total. The LR
  schedule still advances on a skipped iteration (it is iteration-based).
- ``check_params_on_save`` (default True): before any checkpoint is written the model's
  parameters are checked; non-finite ones (e.g. from non-finite gradients of a finite loss) raise
  instead of being saved.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Dict, List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

__all__ = ['FiniteLossHook', 'NonFiniteLossError']


class NonFiniteLossError(FloatingPointError):
    """Training stopped because a loss (or a parameter about to be saved) is NaN or infinite."""


def _is_finite(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return bool(torch.isfinite(value.detach()).all())
    if isinstance(value, (int, float)):
        return math.isfinite(value)
    return True


def _fmt(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        value = value.detach().float()
        return f'{value.item():g}' if value.numel() == 1 else f'tensor{tuple(value.shape)}'
    return str(value)


def _unwrap(model):
    return model.module if hasattr(model, 'module') else model


def sample_names(data_batch: Any, limit: int = 16) -> List[str]:
    """Stems and files of the samples of a batch (from the data samples' metainfo)."""
    samples = data_batch.get('data_samples') if isinstance(data_batch, dict) else None
    names: List[str] = []
    for s in samples or []:
        meta = getattr(s, 'metainfo', None) or {}
        paths = meta.get('modality_paths')
        files = list(paths.values()) if isinstance(paths, dict) else []
        if not files and meta.get('img_path'):
            files = [meta['img_path']]
        stem = meta.get('stem')
        if stem is not None or files:
            names.append(f"{stem if stem is not None else '?'} ({', '.join(map(str, files))})")
    if len(names) > limit:
        names = names[:limit] + [f'... {len(names) - limit} more']
    return names


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Stop (or skip the step) on a non-finite loss; see the module docstring.

    Args:
        action: ``'raise'`` (stop training) or ``'skip'`` (drop the optimizer step and go on).
        max_consecutive_skips: with ``'skip'``, this many skipped iterations in a row raise.
        check_params_on_save: refuse to write a checkpoint whose parameters are not finite.
    """

    priority = 'HIGHEST'

    def __init__(
        self,
        action: str = 'raise',
        max_consecutive_skips: int = 5,
        check_params_on_save: bool = True,
    ):
        if action not in ('raise', 'skip'):
            raise ValueError(f"FiniteLossHook: action must be 'raise' or 'skip', got {action!r}")
        if int(max_consecutive_skips) < 1:
            raise ValueError(
                f'FiniteLossHook: max_consecutive_skips must be >= 1, got {max_consecutive_skips}'
            )
        self.action = action
        self.max_consecutive_skips = int(max_consecutive_skips)
        self.check_params_on_save = check_params_on_save
        self.skipped = 0
        self.consecutive = 0
        self.skipped_iters: List[int] = []
        self._intercepted: Optional[str] = None
        self._buffers: Optional[Dict[str, torch.Tensor]] = None

    # -- the guard around update_params ---------------------------------------------------------
    def _guard(self, optim_wrapper) -> None:
        if getattr(optim_wrapper, '_finite_loss_guard', None) is self:
            return
        original = optim_wrapper.update_params
        hook = self

        def update_params(loss, *args, **kwargs):
            finite = torch.isfinite(loss.detach()).all()
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                flag = finite.to(dtype=torch.int32, device=loss.device)
                torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MIN)
                finite = flag
            if bool(finite):
                return original(loss, *args, **kwargs)
            # neither backward nor step: weights, gradients and optimizer state stay untouched
            hook._intercepted = _fmt(loss)
            return None

        optim_wrapper.update_params = update_params
        optim_wrapper._finite_loss_guard = self

    def before_train(self, runner) -> None:
        from mmengine.optim import OptimWrapperDict

        ow = runner.optim_wrapper
        wrappers = list(ow.values()) if isinstance(ow, OptimWrapperDict) else [ow]
        for w in wrappers:
            self._guard(w)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._intercepted = None
        if self.action == 'skip':
            self._buffers = {
                n: b.detach().clone() for n, b in _unwrap(runner.model).named_buffers()
            }

    # -- the check ------------------------------------------------------------------------------
    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        outputs = outputs if isinstance(outputs, dict) else {}
        bad = {k: v for k, v in outputs.items() if 'loss' in k and not _is_finite(v)}
        if self._intercepted is None and not bad:
            self.consecutive = 0
            return
        it = runner.iter + 1  # global and 1-based (batch_idx restarts every epoch in epoch loops)
        terms = ', '.join(f'{k}={_fmt(v)}' for k, v in bad.items()) or f'loss={self._intercepted}'
        names = sample_names(data_batch)
        samples = '; '.join(names) if names else 'no file names in the data samples'
        where = f'iteration {it} of {runner.max_iters}'
        if self._intercepted is None:
            # the terms are non-finite but the guard did not see it: the step went through
            raise NonFiniteLossError(
                f'non-finite loss at {where}: {terms}; samples: {samples}. The optimizer step was '
                f'NOT intercepted (the model does not update through the guarded optim wrapper), '
                f'so the weights may be corrupted; training stops and no checkpoint of this state '
                f'is saved.'
            )
        if self.action == 'raise':
            last = runner.message_hub.get_info('last_ckpt', None)
            raise NonFiniteLossError(
                f'non-finite loss at {where}: {terms}; samples: {samples}. The optimizer step of '
                f'this iteration was not applied and no checkpoint of it is saved; the last '
                f'checkpoint is {last or "none (none was saved yet)"}. Check these samples '
                f'(e.g. NaN in a float modality), or set dict(type=\'FiniteLossHook\', '
                f'action=\'skip\') in custom_hooks to skip such steps.'
            )
        # skip: undo what the forward pass changed (BatchNorm statistics, counters)
        if self._buffers is not None:
            for n, b in _unwrap(runner.model).named_buffers():
                if n in self._buffers:
                    b.copy_(self._buffers[n])
        for k in bad:  # keep the logged averages meaningful; the warning reports them
            outputs.pop(k)
        self.skipped += 1
        self.consecutive += 1
        self.skipped_iters.append(it)
        print_log(
            f'FiniteLossHook: skipped the optimizer step of {where} (non-finite {terms}; '
            f'samples: {samples}); skipped steps: {self.skipped} so far, {self.consecutive} '
            f'in a row (stops at {self.max_consecutive_skips} in a row)',
            logger='current',
            level=logging.WARNING,
        )
        if self.consecutive >= self.max_consecutive_skips:
            raise NonFiniteLossError(
                f'{self.consecutive} consecutive iterations (up to {where}) had a non-finite loss '
                f'and were skipped: training diverged or the data is broken; last samples: '
                f'{samples}. No checkpoint of this iteration is saved.'
            )

    def after_train(self, runner) -> None:
        if self.skipped:
            shown = self.skipped_iters[:20]
            more = (
                f' ... {len(self.skipped_iters) - 20} more' if len(self.skipped_iters) > 20 else ''
            )
            print_log(
                f'FiniteLossHook: skipped steps: {self.skipped} of {runner.iter} iterations '
                f'had a non-finite loss and were not applied (iterations {shown}{more})',
                logger='current',
                level=logging.WARNING,
            )

    # -- checkpoints ----------------------------------------------------------------------------
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.check_params_on_save:
            bad = [
                n
                for n, p in _unwrap(runner.model).named_parameters()
                if p.is_floating_point() and not bool(torch.isfinite(p.detach()).all())
            ]
            if bad:
                raise NonFiniteLossError(
                    f'refusing to save a checkpoint at iteration {runner.iter + 1}: {len(bad)} '
                    f'parameters are not finite ({bad[:8]}); the previous checkpoints are kept'
                )
        checkpoint['finite_loss'] = dict(
            skipped=self.skipped, skipped_iters=list(self.skipped_iters)
        )

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('finite_loss')
        if isinstance(state, dict) and getattr(runner, '_resume', False):  # not for load_from
            self.skipped = int(state.get('skipped', 0))
            self.skipped_iters = [int(i) for i in state.get('skipped_iters', [])]
