"""Sparse teacher logits: the top-k logits of every pixel, as a cached teacher provides them.

A cached teacher (``tools/cache_teacher.py``, docs/teacher_cache.md) stores per pixel only its k
largest logits, their class indices and one number for the rest, the **tail**: the log-sum-exp of
the K - k logits it dropped (``-inf`` when k = K). :class:`SparseLogits` carries that in a batch
and the logit losses (:class:`~crossmodal.models.losses.kd.KDLoss`,
:class:`~crossmodal.models.losses.cwd.CWDLoss`, :class:`~crossmodal.models.losses.dkd.DKDLoss`)
accept it in place of the dense (B, K, H, W) teacher logits.

Treatment of the truncated probability mass (probability-domain top-k truncation, as in sparse
KD for language models, e.g. Anshumann et al., "Sparse Logit Sampling", ACL 2025). With
``p = softmax(z)`` the teacher's probabilities at temperature 1 and ``T`` its top-k set:

* ``'residual'`` (default): the top-k probabilities are kept as they are and the residual mass
  ``r = 1 - sum_{c in T} p_c`` is spread **uniformly** over the K - k other classes. As logits:
  every class outside ``T`` gets the same logit ``tail - log(K - k)``, so the per-pixel softmax of
  the reconstruction is exactly ``p_c`` on ``T`` and ``r / (K - k)`` elsewhere. At a temperature
  tau != 1 the reconstruction is divided by tau like any logits: exact when the dropped logits
  were equal (a uniform tail), an approximation otherwise (the dropped logits are not stored).
* ``'renorm'``: the residual mass is dropped and the top-k probabilities renormalised to sum to
  1 (at every temperature: ``softmax_T(z / tau)``); classes outside ``T`` get probability 0
  (logit :data:`ABSENT_LOGIT`, finite so that ``0 * log 0`` terms stay 0, never NaN).

Both are exact when k = K (the golden tests check that every sparse loss then equals its dense
form). The loss computes the dense reconstruction (B, K, H, W) of :meth:`SparseLogits.densify`
at the student's resolution and applies its dense formula, so the student side is unchanged.

Resampling: a sparse map is resampled with **nearest** neighbour (``nearest-exact``: the source
pixel whose centre is nearest), values, indices and tail together, so that every output pixel
keeps one consistent top-k set of one source pixel. The dense path resizes teacher logits
bilinearly; the difference is measured in tests/teacher_cache/test_geometry.py and stated in
docs/teacher_cache.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Tuple

import torch
import torch.nn.functional as F

SPARSE_MODES = ('residual', 'renorm')
# logit of a class outside the top-k in 'renorm' mode: exp(-1e4 / tau) underflows to exactly 0 in
# float32 for tau < ~100, so the class has probability 0 and contributes 0 (not NaN) to a KL
ABSENT_LOGIT = -1.0e4


def resize_nearest(x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Nearest-neighbour (``nearest-exact``) resize of a (B, C, H, W) map of any dtype to ``size``.

    Output pixel (i, j) takes source pixel ``(floor((i + 0.5) * H / h), floor((j + 0.5) * W / w))``:
    the same sampling as :func:`nearest_index` (used when a cache is loaded)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    h, w = size
    src_h, src_w = x.shape[-2:]
    if src_h % h == 0 and src_w % w == 0:
        # an integer factor f: floor((i + 0.5) * f) = i * f + f // 2, a strided view (faster)
        fh, fw = src_h // h, src_w // w
        return x[..., fh // 2 :: fh, fw // 2 :: fw].contiguous()
    rows = nearest_index(src_h, h, x.device)
    cols = nearest_index(src_w, w, x.device)
    return x[..., rows, :][..., cols]


def nearest_index(src: int, dst: int, device=None) -> torch.Tensor:
    """(dst,) long source indices of a nearest-exact resampling from ``src`` to ``dst`` pixels."""
    idx = torch.floor((torch.arange(dst, device=device, dtype=torch.float64) + 0.5) * src / dst)
    return idx.long().clamp_(0, src - 1)


@dataclass
class SparseLogits:
    """Top-k teacher logits of a batch.

    Attributes:
        values: (B, k, H, W) float, the k largest logits of each pixel (any order).
        indices: (B, k, H, W) long class indices of ``values``, in [0, num_classes).
        tail: (B, 1, H, W) float, log-sum-exp of the K - k logits not stored (``-inf`` if k = K).
        num_classes: K.
    """

    values: torch.Tensor
    indices: torch.Tensor
    tail: torch.Tensor
    num_classes: int

    def __post_init__(self) -> None:
        v, i, t = self.values, self.indices, self.tail
        if v.dim() != 4 or i.shape != v.shape or t.shape != (v.shape[0], 1) + tuple(v.shape[2:]):
            raise ValueError(
                f'SparseLogits: values and indices must be (B, k, H, W) and tail (B, 1, H, W); '
                f'got {tuple(v.shape)}, {tuple(i.shape)}, {tuple(t.shape)}'
            )
        if not 1 <= v.shape[1] <= self.num_classes:
            raise ValueError(f'SparseLogits: k={v.shape[1]} not in [1, {self.num_classes}]')

    # tensor-like attributes, so shape checks of the losses read the dense shape
    @property
    def k(self) -> int:
        return int(self.values.shape[1])

    @property
    def shape(self) -> torch.Size:
        """The shape of the dense logits: (B, K, H, W)."""
        b, _, h, w = self.values.shape
        return torch.Size((b, self.num_classes, h, w))

    def dim(self) -> int:
        return 4

    def detach(self) -> 'SparseLogits':
        return SparseLogits(
            self.values.detach(), self.indices, self.tail.detach(), self.num_classes
        )

    def resize(self, size: Tuple[int, int]) -> 'SparseLogits':
        """Nearest-exact resampling of values, indices and tail together (module docstring)."""
        if tuple(self.values.shape[-2:]) == tuple(size):
            return self
        return SparseLogits(
            resize_nearest(self.values, size),
            resize_nearest(self.indices, size),
            resize_nearest(self.tail, size),
            self.num_classes,
        )

    def densify(self, mode: str = 'residual', dtype=None) -> torch.Tensor:
        """(B, K, H, W) logits whose per-pixel softmax is the truncated teacher distribution of
        ``mode`` (module docstring); with k = K the logits themselves."""
        if mode not in SPARSE_MODES:
            raise ValueError(f'sparse teacher mode must be one of {SPARSE_MODES}, got {mode!r}')
        dtype = dtype or self.values.dtype
        b, k, h, w = self.values.shape
        num = self.num_classes
        if mode == 'renorm' or k == num:
            fill = torch.full((b, 1, h, w), ABSENT_LOGIT, dtype=dtype, device=self.values.device)
        else:
            fill = self.tail.to(dtype) - math.log(num - k)
            # an all-(-inf) tail (no residual mass at all) -> absent classes
            fill = torch.where(torch.isfinite(fill), fill, torch.full_like(fill, ABSENT_LOGIT))
        dense = fill.expand(b, num, h, w).clone()
        return dense.scatter(1, self.indices.long(), self.values.to(dtype))


def topk_sparse(logits: torch.Tensor, k: int) -> SparseLogits:
    """:class:`SparseLogits` of dense (B, K, H, W) logits: the top-k values/indices and the tail's
    log-sum-exp (computed in float32 or the input's wider dtype)."""
    num = logits.shape[1]
    if not 1 <= k <= num:
        raise ValueError(f'topk_sparse: k={k} must be in [1, {num}] (the number of classes)')
    work = logits if logits.dtype == torch.float64 else logits.float()
    values, indices = work.topk(k, dim=1)
    if k == num:
        tail = torch.full_like(values[:, :1], float('-inf'))
    else:
        rest = work.scatter(1, indices, float('-inf'))
        tail = torch.logsumexp(rest, dim=1, keepdim=True)
    return SparseLogits(values.to(logits.dtype), indices, tail.to(logits.dtype), num)


def dense_teacher(
    teacher, size: Tuple[int, int], mode: str, dtype=None, detach: bool = True
) -> torch.Tensor:
    """A dense (B, K, H, W) teacher at ``size`` from dense logits (returned as they are) or from
    :class:`SparseLogits` (nearest-resampled to ``size``, then :meth:`SparseLogits.densify`)."""
    if not isinstance(teacher, SparseLogits):
        return teacher
    if detach:
        teacher = teacher.detach()
    return teacher.resize(size).densify(mode, dtype=dtype)


def check_mode(mode: str, owner: str) -> str:
    if mode not in SPARSE_MODES:
        raise ValueError(f'{owner}: sparse_mode must be one of {SPARSE_MODES}, got {mode!r}')
    return mode


def pad_to(x: torch.Tensor, size: Tuple[int, int], value: float = 0) -> torch.Tensor:
    """Pad a (B, C, H, W) map bottom/right to ``size`` (mmseg's ``stack_batch`` convention)."""
    ph, pw = size[0] - x.shape[-2], size[1] - x.shape[-1]
    if ph < 0 or pw < 0:
        raise ValueError(f'pad_to: map {tuple(x.shape[-2:])} is larger than {tuple(size)}')
    if ph == 0 and pw == 0:
        return x
    return F.pad(x, (0, pw, 0, ph), value=value)
