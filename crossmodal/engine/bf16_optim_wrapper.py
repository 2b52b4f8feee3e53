"""``CPUBF16OptimWrapper``: ``--amp`` on CPU.

mmengine's ``AmpOptimWrapper`` refuses to run without a GPU/NPU/MLU. On CPU, mixed precision means
bfloat16 autocast (no loss scaling: bf16 has fp32's exponent range), which this wrapper adds
around the forward pass exactly where ``AmpOptimWrapper`` puts its fp16 autocast.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper
from mmseg.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUBF16OptimWrapper(OptimWrapper):
    """OptimWrapper whose ``optim_context`` runs the forward under CPU bfloat16 autocast."""

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        with super().optim_context(model), torch.autocast(device_type='cpu', dtype=torch.bfloat16):
            yield
