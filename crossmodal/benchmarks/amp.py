"""Mixed precision for benchmarks and short runs: one optim wrapper per device.

* CUDA: mmengine's ``AmpOptimWrapper`` (fp16 autocast + ``GradScaler``), as
  ``tools/train.py --amp``.
* CPU: :class:`AutocastOptimWrapper` (bf16 autocast, no scaler: bf16 has fp32's exponent range).
  mmengine's ``AmpOptimWrapper`` refuses to start without an accelerator, so CPU dry runs use this.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

__all__ = [
    'AutocastOptimWrapper',
    'amp_dtype',
    'make_optim_wrapper',
    'optim_wrapper_cfg',
    'autocast',
]


@OPTIM_WRAPPERS.register_module(force=True)
class AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose ``optim_context`` runs under
    ``torch.autocast(device_type, dtype)``."""

    def __init__(self, *args, device_type: str = 'cpu', dtype: str = 'bfloat16', **kwargs):
        super().__init__(*args, **kwargs)
        self.device_type = device_type
        self.cast_dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(self.device_type, dtype=self.cast_dtype):
            yield


def amp_dtype(device: str) -> str:
    """The autocast dtype of an "amp" run on ``device``: fp16 on CUDA, bf16 on CPU."""
    return 'float16' if str(device).startswith('cuda') else 'bfloat16'


def autocast(device: str, precision: str):
    """Autocast context of ``precision`` ('fp32' = disabled, 'amp') on ``device``."""
    dev = 'cuda' if str(device).startswith('cuda') else 'cpu'
    return torch.autocast(dev, dtype=getattr(torch, amp_dtype(device)), enabled=precision == 'amp')


def optim_wrapper_cfg(device: str, precision: str, optimizer: dict) -> dict:
    """An ``optim_wrapper`` config for the Runner (keeps ``optimizer``)."""
    if precision != 'amp':
        return dict(type='OptimWrapper', optimizer=optimizer)
    if str(device).startswith('cuda'):
        return dict(
            type='AmpOptimWrapper', dtype='float16', loss_scale='dynamic', optimizer=optimizer
        )
    return dict(
        type='AutocastOptimWrapper', device_type='cpu', dtype='bfloat16', optimizer=optimizer
    )


def make_optim_wrapper(params, device: str, precision: str, lr: float = 1e-5) -> OptimWrapper:
    """An AdamW optim wrapper over ``params`` for ``precision`` ('fp32' or 'amp') on ``device``."""
    opt = torch.optim.AdamW(params, lr=lr)
    if precision != 'amp':
        return OptimWrapper(opt)
    if str(device).startswith('cuda'):
        from mmengine.optim import AmpOptimWrapper

        return AmpOptimWrapper(optimizer=opt, dtype='float16', loss_scale='dynamic')
    return AutocastOptimWrapper(optimizer=opt, device_type='cpu', dtype='bfloat16')
