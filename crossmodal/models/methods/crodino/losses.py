"""CroDiNo-KD losses: pixel-level cross-modal InfoNCE and invariant/specific orthogonality.

CroDiNo-KD (Ferrod et al., "Revisiting Cross-Modal Knowledge Distillation: A Disentanglement
Approach for RGBD Semantic Segmentation", arXiv 2505.24361, ECML-PKDD 2025). The authors' code was
not obtainable; both losses are a **reconstruction** (docs/methods/crodino.md (b)) from the abstract
("disentangled representation, contrastive learning") and the predecessor DisCoM-KD's orthogonality
term.

* :class:`PixelInfoNCELoss` (reconstruction): symmetric InfoNCE between the modality-invariant pixel
  embeddings of the two modalities. Positives = the same pixel (same image, same location) in the
  other modality; negatives = every other sampled pixel of the batch (other locations of the same
  image and all pixels of the other images). Cosine similarity divided by ``tau``.
* :class:`OrthogonalityLoss` (reconstruction): mean over pixels of cos^2(z_inv, z_spe).
* :class:`ModalityClassifier` (reconstruction of DisCoM-KD's L_mod, optional, off by default): a
  linear modality classifier on the spatially pooled modality-specific features.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS


def info_nce_pairs(q: torch.Tensor, k: torch.Tensor, tau: float) -> torch.Tensor:
    """Symmetric InfoNCE of N paired embeddings (row i of ``q`` pairs with row i of ``k``).

    Args:
        q, k: (N, D) embeddings (any scale; L2-normalised here).
        tau: temperature.

    Returns:
        ``0.5 * (CE(S, I) + CE(S^T, I))`` with ``S = cos(q_i, k_j) / tau`` (N, N): the mean over
        anchors of ``-log softmax_j(S)[i, i]`` in both directions (q->k and k->q).
    """
    if q.shape != k.shape or q.dim() != 2:
        raise ValueError(
            f'info_nce_pairs: q and k must both be (N, D), got {tuple(q.shape)} and '
            f'{tuple(k.shape)}'
        )
    q = F.normalize(q, dim=1, eps=1e-12)
    k = F.normalize(k, dim=1, eps=1e-12)
    sim = q @ k.t() / tau
    target = torch.arange(q.shape[0], device=q.device)
    return 0.5 * (F.cross_entropy(sim, target) + F.cross_entropy(sim.t(), target))


def sample_pixels(
    valid: torch.Tensor, per_img: int, generator: Optional[torch.Generator] = None
) -> list:
    """Per image, indices (flattened h*w) of up to ``per_img`` valid pixels, uniformly without
    replacement.

    Args:
        valid: (B, h, w) bool mask.
        per_img: pixels per image (an image with fewer valid pixels gives all of them).
        generator: torch generator for reproducible sampling (None: the global RNG).

    Returns:
        list of B 1-D long tensors.
    """
    out = []
    for b in range(valid.shape[0]):
        idx = valid[b].flatten().nonzero(as_tuple=False)[:, 0]
        if idx.numel() > per_img:
            perm = torch.randperm(idx.numel(), generator=generator, device='cpu')[:per_img]
            idx = idx[perm.to(idx.device)]
        out.append(idx)
    return out


@MODELS.register_module()
class PixelInfoNCELoss(nn.Module):
    """Pixel-level cross-modal contrastive loss on invariant features (reconstruction,
    docs/methods/crodino.md (b)).

    Args:
        tau: temperature of the cosine similarities (0.1, docs/methods/crodino.md defaults).
        pixels_per_img: pixels sampled per image from the non-void pixels of the (pooled) map.
        stride_factor: the (B, D, h, w) maps are average-pooled by this factor before sampling
            (2: SegFormer's stride-4 head feature -> stride 8, as docs/methods/crodino.md (e)
            suggests; 1: none).
        ignore_index: void label value; void pixels are never sampled (a pooled cell is void when
            the nearest-resized label is).
        loss_weight: multiplier of the returned loss.
        loss_name: logging name.

    Forward: ``(z_a (B, D, h, w), z_b (B, D, h, w), gt (B, H, W) long or None, generator=None)``
    -> scalar. ``z_a[b, :, y, x]`` and ``z_b[b, :, y, x]`` are a positive pair; all other sampled
    pixels of the batch are negatives. Symmetric (a->b and b->a averaged). A batch without any
    valid pixel gives a zero that keeps the graph.
    """

    def __init__(
        self,
        tau: float = 0.1,
        pixels_per_img: int = 2048,
        stride_factor: int = 2,
        ignore_index: int = 255,
        loss_weight: float = 1.0,
        loss_name: str = 'loss_con',
    ) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'PixelInfoNCELoss: tau must be > 0, got {tau}')
        if pixels_per_img < 1 or stride_factor < 1:
            raise ValueError('PixelInfoNCELoss: pixels_per_img and stride_factor must be >= 1')
        self.tau = float(tau)
        self.pixels_per_img = int(pixels_per_img)
        self.stride_factor = int(stride_factor)
        self.ignore_index = ignore_index
        self.loss_weight = float(loss_weight)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(
        self,
        z_a: torch.Tensor,
        z_b: torch.Tensor,
        gt: Optional[torch.Tensor] = None,
        generator: Optional[torch.Generator] = None,
    ) -> torch.Tensor:
        if z_a.shape != z_b.shape or z_a.dim() != 4:
            raise ValueError(
                f'PixelInfoNCELoss: both maps must be (B, D, h, w) of the same shape, got '
                f'{tuple(z_a.shape)} and {tuple(z_b.shape)}'
            )
        if self.stride_factor > 1:
            z_a = F.avg_pool2d(z_a, self.stride_factor, ceil_mode=True)
            z_b = F.avg_pool2d(z_b, self.stride_factor, ceil_mode=True)
        b, d, h, w = z_a.shape
        if gt is None:
            valid = torch.ones(b, h, w, dtype=torch.bool, device=z_a.device)
        else:
            lab = F.interpolate(gt[:, None].float(), size=(h, w), mode='nearest')[:, 0]
            valid = lab != self.ignore_index
        idx = sample_pixels(valid, self.pixels_per_img, generator)
        fa = z_a.flatten(2)  # (B, D, h*w)
        fb = z_b.flatten(2)
        qa = torch.cat([fa[i][:, j].t() for i, j in enumerate(idx)], 0)
        qb = torch.cat([fb[i][:, j].t() for i, j in enumerate(idx)], 0)
        if qa.shape[0] == 0:
            return (z_a.sum() + z_b.sum()) * 0.0
        return self.loss_weight * info_nce_pairs(qa, qb, self.tau)


@MODELS.register_module()
class OrthogonalityLoss(nn.Module):
    """Disentanglement loss: mean over pixels of cos^2(z_inv, z_spe) (reconstruction,
    docs/methods/crodino.md (b)).

    Args:
        loss_weight: multiplier of the returned loss.
        eps: added to the norms (a zero vector has cosine 0 with everything).
        loss_name: logging name.

    Forward: ``(z_inv (B, D, h, w), z_spe (B, D, h, w))`` -> scalar in [0, 1] (times loss_weight).
    Every pixel counts (the term does not use labels).
    """

    def __init__(
        self, loss_weight: float = 1.0, eps: float = 1e-6, loss_name: str = 'loss_orth'
    ) -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)
        self.eps = float(eps)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, z_inv: torch.Tensor, z_spe: torch.Tensor) -> torch.Tensor:
        if z_inv.shape != z_spe.shape:
            raise ValueError(
                f'OrthogonalityLoss: z_inv and z_spe must have the same shape (set z_dim '
                f'to half the head channels), got {tuple(z_inv.shape)} and '
                f'{tuple(z_spe.shape)}'
            )
        dot = (z_inv * z_spe).sum(1)
        cos = dot / ((z_inv.norm(dim=1) + self.eps) * (z_spe.norm(dim=1) + self.eps))
        return self.loss_weight * (cos**2).mean()


@MODELS.register_module()
class ModalityClassifier(nn.Module):
    """Linear modality classifier on globally averaged z_spe (optional; reconstruction of
    DisCoM-KD's L_mod).

    Args:
        in_channels: channels of z_spe.
        num_modalities: number of co-trained models (classes).

    Forward: ``[z_spe of modality 0 (B, D, h, w), z_spe of modality 1, ...]`` -> CE of predicting
    each map's modality index from its pooled vector (scalar).
    """

    def __init__(self, in_channels: int, num_modalities: int = 2) -> None:
        super().__init__()
        self.fc = nn.Linear(in_channels, num_modalities)

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        pooled = torch.cat([f.mean((2, 3)) for f in feats], 0)
        target = torch.cat(
            [
                torch.full((f.shape[0],), i, dtype=torch.long, device=f.device)
                for i, f in enumerate(feats)
            ]
        )
        return F.cross_entropy(self.fc(pooled), target)
