"""Pieces shared by every op in :mod:`crossmodal.ops`: the ``impl`` names and their resolution,
and the accumulation dtype. Imports nothing else from the package (the bottom of the import graph).
"""

from __future__ import annotations

import torch

IMPLS = ('auto', 'reference', 'chunked', 'triton')


def acc_dtype(dtype: torch.dtype) -> torch.dtype:
    """float64 stays float64; everything else accumulates in float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def resolve_impl(impl: str, device: torch.device, where: str) -> str:
    """'auto' -> 'triton' on CUDA, 'chunked' elsewhere; validates explicit choices."""
    if impl not in IMPLS:
        raise ValueError(f'{where}: impl must be one of {IMPLS}, got {impl!r}')
    if impl == 'auto':
        return 'triton' if device.type == 'cuda' else 'chunked'
    return impl


_acc_dtype = acc_dtype  # the name the ops used before this module existed
