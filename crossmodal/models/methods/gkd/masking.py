"""Random patch masking for GKD's masked-input branch (docs/methods/gkd.md (b), (e).4).

GKD masks the student's input: ``mask_prob`` of the images in a batch (the first ones, as the
released code's ``mask_first_n``) get ``mask_ratio`` of their patches masked at random positions;
the teacher always sees the unmasked image. ViT students replace the masked tokens by a learned mask
token (:func:`mask_tokens`); MiT/SegFormer students have none, so the project masks at the input
level instead (:func:`mask_image_patches`: masked patches are filled with zeros or the image mean) —
[RECON], docs/methods/gkd.md (e).4.

Counts are rounded half up: ``floor(B * mask_prob + 0.5)`` images and
``floor(N * mask_ratio + 0.5)`` tokens per masked image.
"""

from __future__ import annotations

import math
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def random_token_mask(
    batch_size: int,
    num_tokens: int,
    mask_prob: float = 0.5,
    mask_ratio: float = 0.5,
    mask_first_n: bool = True,
    generator: Optional[torch.Generator] = None,
    device: Union[str, torch.device, None] = None,
) -> torch.Tensor:
    """Boolean (B, N) mask, True = masked token.

    Args:
        batch_size: B.
        num_tokens: N, tokens (patches) per image.
        mask_prob: fraction of images that are masked (first ``round(B * mask_prob)`` images when
            ``mask_first_n``, else each image independently with this probability).
        mask_ratio: fraction of tokens masked in a masked image (exactly ``round(N * mask_ratio)``,
            positions uniformly at random).
        mask_first_n: released-code behaviour (deterministic choice of the masked images).
        generator: optional torch generator (CPU) for reproducibility.
        device: device of the returned mask.
    """
    if not 0.0 <= mask_prob <= 1.0 or not 0.0 <= mask_ratio <= 1.0:
        raise ValueError(
            f'random_token_mask: mask_prob and mask_ratio must be in [0, 1], got '
            f'{mask_prob}, {mask_ratio}'
        )
    mask = torch.zeros(batch_size, num_tokens, dtype=torch.bool)
    if mask_first_n:
        images = torch.arange(batch_size) < _round_half_up(batch_size * mask_prob)
    else:
        images = torch.rand(batch_size, generator=generator) < mask_prob
    n_masked = _round_half_up(num_tokens * mask_ratio)
    for i in torch.nonzero(images).flatten().tolist():
        pos = torch.randperm(num_tokens, generator=generator)[:n_masked]
        mask[i, pos] = True
    return mask.to(device) if device is not None else mask


def token_mask_to_pixels(
    token_mask: torch.Tensor, grid: Tuple[int, int], patch_size: int, image_size: Tuple[int, int]
) -> torch.Tensor:
    """(B, N) token mask on a ``grid`` (gh, gw) -> (B, H, W) pixel mask (patches of
    ``patch_size``)."""
    b, n = token_mask.shape
    gh, gw = grid
    if n != gh * gw:
        raise ValueError(f'token mask has {n} tokens, grid {gh}x{gw} has {gh * gw}')
    m = token_mask.view(b, gh, gw)
    m = m.repeat_interleave(patch_size, dim=1).repeat_interleave(patch_size, dim=2)
    return m[:, : image_size[0], : image_size[1]]


def mask_image_patches(
    images: torch.Tensor,
    token_mask: torch.Tensor,
    patch_size: int,
    fill: Union[str, float] = 'zero',
) -> torch.Tensor:
    """Return a copy of ``images`` (B, C, H, W) with the masked patches filled.

    ``token_mask`` is (B, N) over the patch grid ``(ceil(H/p), ceil(W/p))`` (row-major). ``fill``:
    ``'zero'``, ``'mean'`` (per image and channel mean of the unmasked image) or a number.
    """
    if images.dim() != 4:
        raise ValueError(
            f'mask_image_patches: expected (B, C, H, W) images, got {tuple(images.shape)}'
        )
    b, c, h, w = images.shape
    grid = (math.ceil(h / patch_size), math.ceil(w / patch_size))
    pix = token_mask_to_pixels(token_mask.to(images.device), grid, patch_size, (h, w))[:, None]
    if fill == 'zero':
        value = torch.zeros(b, c, 1, 1, dtype=images.dtype, device=images.device)
    elif fill == 'mean':
        value = images.mean(dim=(2, 3), keepdim=True)
    elif isinstance(fill, (int, float)) and not isinstance(fill, bool):
        value = torch.full((b, c, 1, 1), float(fill), dtype=images.dtype, device=images.device)
    else:
        raise ValueError(
            f"mask_image_patches: fill must be 'zero', 'mean' or a number, got {fill!r}"
        )
    return torch.where(pix, value.expand_as(images), images)


def mask_tokens(
    tokens: torch.Tensor, token_mask: torch.Tensor, mask_token: Optional[torch.Tensor] = None
) -> torch.Tensor:
    """Replace masked tokens of (B, N, C) ``tokens`` by ``mask_token`` (C,) (zeros when None)."""
    if mask_token is None:
        mask_token = tokens.new_zeros(tokens.shape[-1])
    return torch.where(token_mask[..., None].to(tokens.device), mask_token.to(tokens.dtype), tokens)


class PatchMasker(nn.Module):
    """Input-level GKD masking for students without a mask token (SegFormer/MiT).

    Args:
        patch_size: side of a masked square patch in pixels (e.g. 32 = MiT stage-4 stride).
        mask_prob: fraction of images masked (default 0.5).
        mask_ratio: fraction of patches masked per masked image (default 0.5).
        fill: ``'zero'``, ``'mean'`` or a number.
        mask_first_n: mask the first images of the batch (released code) instead of random ones.

    ``forward(images (B,C,H,W), generator=None)`` -> ``(masked_images, token_mask (B, gh*gw))``.
    """

    def __init__(
        self,
        patch_size: int = 32,
        mask_prob: float = 0.5,
        mask_ratio: float = 0.5,
        fill: Union[str, float] = 'zero',
        mask_first_n: bool = True,
    ) -> None:
        super().__init__()
        if patch_size < 1:
            raise ValueError(f'PatchMasker: patch_size must be >= 1, got {patch_size}')
        self.patch_size = int(patch_size)
        self.mask_prob = float(mask_prob)
        self.mask_ratio = float(mask_ratio)
        self.fill = fill
        self.mask_first_n = bool(mask_first_n)

    def grid(self, image_size: Tuple[int, int]) -> Tuple[int, int]:
        return (
            math.ceil(image_size[0] / self.patch_size),
            math.ceil(image_size[1] / self.patch_size),
        )

    def forward(
        self, images: torch.Tensor, generator: Optional[torch.Generator] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        gh, gw = self.grid(tuple(images.shape[-2:]))
        token_mask = random_token_mask(
            images.shape[0],
            gh * gw,
            self.mask_prob,
            self.mask_ratio,
            self.mask_first_n,
            generator=generator,
            device=images.device,
        )
        return mask_image_patches(images, token_mask, self.patch_size, self.fill), token_mask
