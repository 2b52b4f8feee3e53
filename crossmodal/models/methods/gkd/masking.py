"""Random patch masking for GKD's masked-input branch (docs/methods/gkd.md (b), (e).4).

GKD masks the student's input: ``mask_prob`` of the images in a batch (the first ones, as the
released code's ``mask_first_n``) get ``mask_ratio`` of their patches masked at random positions;
the teacher always sees the unmasked image. Two ways to mask a MiT/SegFormer student
(:class:`PatchMasker` ``fill``):

* input level (default, ``fill='mean'``; [RECON], docs/methods/gkd.md (e).4): the masked patches of
  the image are filled (:func:`mask_image_patches`) with the image's own per-channel mean. The
  paper's L_mask only says that patches of the student's input are masked (no fill, no mask-token
  detail is recorded); input-level masking is the project's reading of it for a MiT student, which
  has no mask token, and is the default.
* token level (``fill='token'``, **the released code's behaviour**): the image is left as it is and
  the tokens of the masked patches are replaced by a learned mask token (``nn.Parameter`` of the
  embedding width, trunc-normal std 0.02, never 0) right **after the first patch embedding**, as the
  released code's DINOv2-style ``prepare_tokens`` does (:meth:`PatchMasker.substitute`,
  :meth:`PatchMasker.tokens_masked_in`; :func:`mask_tokens` for plain token tensors).

``fill='zero'`` (the old default) is kept but warns: on normalised inputs a zero patch makes the
first patch embedding output only its bias inside the patch, which is the zero vector for a
from-scratch MiT (mmseg initialises conv biases to 0); its LayerNorm then normalises a
zero-variance token and its backward multiplies by about ``1/sqrt(eps)``: the masked-loss gradient
on ``layers.0.0.projection.bias`` is ~1e6-1e9 x the median parameter gradient (tiny MiT, tests),
which freezes that tensor under AdamW. A number ``fill`` has the same problem when it is 0. The
mean fill only degenerates for an image whose normalised channel means are all ~0 (e.g. a uniform
image at the dataset mean); the learned token never does.

Counts are rounded half up: ``floor(B * mask_prob + 0.5)`` images and
``floor(N * mask_ratio + 0.5)`` tokens per masked image.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from typing import Iterator, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

FILLS = ('mean', 'zero', 'token')
ZERO_FILL_WARNING = (
    "GKD masking with fill='zero' yields zero-variance tokens after the first patch embedding "
    '(bias only, 0 at init): its LayerNorm backward scales the gradient by ~1/sqrt(eps) and AdamW '
    "freezes the first embedding; use fill='mean' (default) or fill='token'"
)


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


def _fill_value(images: torch.Tensor, fill: Union[str, float], where: str) -> torch.Tensor:
    """(B, C, 1, 1) fill value of ``images`` (B, C, H, W) for a pixel ``fill``."""
    b, c = images.shape[:2]
    if fill == 'mean':
        return images.mean(dim=(2, 3), keepdim=True)
    if fill == 'zero':
        return torch.zeros(b, c, 1, 1, dtype=images.dtype, device=images.device)
    if isinstance(fill, (int, float)) and not isinstance(fill, bool):
        return torch.full((b, c, 1, 1), float(fill), dtype=images.dtype, device=images.device)
    hint = " ('token' masks after the patch embedding: PatchMasker)" if fill == 'token' else ''
    raise ValueError(f"{where}: fill must be 'mean', 'zero' or a number, got {fill!r}{hint}")


def _warn_if_zero(fill) -> None:
    if fill == 'zero' or (
        isinstance(fill, (int, float)) and not isinstance(fill, bool) and float(fill) == 0.0
    ):
        warnings.warn(ZERO_FILL_WARNING, UserWarning, stacklevel=3)


def _fill_patches(
    images: torch.Tensor, token_mask: torch.Tensor, patch_size: int, fill: Union[str, float]
) -> torch.Tensor:
    if images.dim() != 4:
        raise ValueError(
            f'mask_image_patches: expected (B, C, H, W) images, got {tuple(images.shape)}'
        )
    h, w = images.shape[-2:]
    value = _fill_value(images, fill, 'mask_image_patches')
    grid = (math.ceil(h / patch_size), math.ceil(w / patch_size))
    pix = token_mask_to_pixels(token_mask.to(images.device), grid, patch_size, (h, w))[:, None]
    return torch.where(pix, value.expand_as(images), images)


def mask_image_patches(
    images: torch.Tensor,
    token_mask: torch.Tensor,
    patch_size: int,
    fill: Union[str, float] = 'mean',
) -> torch.Tensor:
    """Return a copy of ``images`` (B, C, H, W) with the masked patches filled.

    ``token_mask`` is (B, N) over the patch grid ``(ceil(H/p), ceil(W/p))`` (row-major). ``fill``:
    ``'mean'`` (default: each image's per-channel mean over the whole unmasked image, so every
    pixel of a masked patch of image b, channel c equals ``images[b, c].mean()``), ``'zero'``
    (warns: zero-variance tokens, see the module docstring) or a number.
    """
    _warn_if_zero(fill)
    return _fill_patches(images, token_mask, patch_size, fill)


def pixel_mask_to_grid(pixel_mask: torch.Tensor, grid: Tuple[int, int]) -> torch.Tensor:
    """(B, H, W) bool pixel mask -> (B, h*w) bool mask on a token ``grid`` (h, w), row-major.

    Nearest sampling (token (i, j) takes pixel ``(floor(i H / h), floor(j W / w))``): for MiT's
    first patch embedding (7x7, stride 4, padding 3, H and W multiples of 4) that pixel is the
    centre of the token's kernel.
    """
    m = F.interpolate(pixel_mask[:, None].float(), size=tuple(grid), mode='nearest')
    return m[:, 0].flatten(1) > 0.5


def mask_tokens(
    tokens: torch.Tensor, token_mask: torch.Tensor, mask_token: Optional[torch.Tensor] = None
) -> torch.Tensor:
    """Replace masked tokens of (B, N, C) ``tokens`` by ``mask_token`` (C,) (zeros when None)."""
    if mask_token is None:
        mask_token = tokens.new_zeros(tokens.shape[-1])
    return torch.where(token_mask[..., None].to(tokens.device), mask_token.to(tokens.dtype), tokens)


class PatchMasker(nn.Module):
    """GKD masking for students without a mask token of their own (SegFormer/MiT).

    Args:
        patch_size: side of a masked square patch in pixels (e.g. 32 = MiT stage-4 stride).
        mask_prob: fraction of images masked (default 0.5).
        mask_ratio: fraction of patches masked per masked image (default 0.5).
        fill: how a masked patch is hidden (module docstring):

            * ``'mean'`` (default): input level, the patch's pixels set to the image's
              per-channel mean (the project's choice, [RECON] docs/methods/gkd.md (e).4);
            * ``'token'``: the released code's behaviour: the image is unchanged and the patch's
              tokens after the first patch embedding are replaced by the learned
              ``mask_token`` (:meth:`substitute`; the caller runs the student inside
              :meth:`tokens_masked_in`, as :class:`~.masked_student.MaskedStudentInput` does);
            * ``'zero'`` or a number: input level with that value; ``'zero'`` (and 0) warns,
              since it yields zero-variance tokens.
        mask_first_n: mask the first images of the batch (released code) instead of random ones.
        token_dims: width C_1 of the first patch embedding's tokens (MiT: ``embed_dims``);
            required by ``fill='token'`` only (the mask token is a (C_1,) parameter).

    ``forward(images (B,C,H,W), generator=None)`` -> ``(masked_images, token_mask (B, gh*gw))``
    with ``(gh, gw) = grid((H, W))``; with ``fill='token'`` the images come back unchanged.
    """

    def __init__(
        self,
        patch_size: int = 32,
        mask_prob: float = 0.5,
        mask_ratio: float = 0.5,
        fill: Union[str, float] = 'mean',
        mask_first_n: bool = True,
        token_dims: Optional[int] = None,
    ) -> None:
        super().__init__()
        if patch_size < 1:
            raise ValueError(f'PatchMasker: patch_size must be >= 1, got {patch_size}')
        is_number = isinstance(fill, (int, float)) and not isinstance(fill, bool)
        if not is_number and fill not in FILLS:
            raise ValueError(f'PatchMasker: fill must be one of {FILLS} or a number, got {fill!r}')
        self.patch_size = int(patch_size)
        self.mask_prob = float(mask_prob)
        self.mask_ratio = float(mask_ratio)
        self.fill = fill
        self.mask_first_n = bool(mask_first_n)
        if fill == 'token':
            if token_dims is None or int(token_dims) < 1:
                raise ValueError(
                    "PatchMasker: fill='token' needs token_dims, the width of the first patch "
                    'embedding (MiT: backbone embed_dims)'
                )
            # trunc-normal std 0.02 cut at 2 std; not DINOv2's zeros: MiT adds no positional
            # embedding, so a zero token would itself be a zero-variance LayerNorm input
            self.mask_token = nn.Parameter(torch.zeros(int(token_dims)))
            nn.init.trunc_normal_(self.mask_token, std=0.02, a=-0.04, b=0.04)
        else:
            if token_dims is not None:
                raise ValueError(f"PatchMasker: token_dims is for fill='token' (fill={fill!r})")
            self.mask_token = None
            _warn_if_zero(fill)

    @property
    def masks_tokens(self) -> bool:
        """True when masking happens after the first patch embedding (``fill='token'``)."""
        return self.mask_token is not None

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
        if self.masks_tokens:
            return images, token_mask
        return _fill_patches(images, token_mask, self.patch_size, self.fill), token_mask

    def substitute(
        self,
        tokens: torch.Tensor,
        token_mask: torch.Tensor,
        image_size: Tuple[int, int],
        hw: Optional[Tuple[int, int]] = None,
    ) -> torch.Tensor:
        """Replace the tokens that lie in masked patches by ``mask_token`` (``fill='token'``).

        Args:
            tokens: first patch embedding output, (B, N_1, C_1) tokens on the grid ``hw``
                (h_1, w_1) or a (B, C_1, h_1, w_1) map.
            token_mask: (B, gh*gw) patch mask from :meth:`forward`.
            image_size: (H, W) of the images the mask was drawn for.
            hw: the token grid (needed for (B, N_1, C_1) tokens).

        A token is masked when its position, mapped to the image by nearest sampling
        (:func:`pixel_mask_to_grid`), lies in a masked patch. Returns the same shape as
        ``tokens``. The first embedding of MiT overlaps (7x7 kernel, stride 4), so the unmasked
        tokens next to a masked patch still see up to 3 of its pixel rows/columns.
        """
        if not self.masks_tokens:
            raise ValueError(f"PatchMasker.substitute needs fill='token' (fill={self.fill!r})")
        as_map = tokens.dim() == 4
        if as_map:
            hw = tuple(tokens.shape[-2:])
            seq = tokens.flatten(2).transpose(1, 2)
        else:
            if hw is None or tokens.dim() != 3:
                raise ValueError(
                    'PatchMasker.substitute: expected (B, C, h, w) maps or (B, N, C) tokens '
                    f'with hw=(h, w), got {tuple(tokens.shape)} and hw={hw}'
                )
            seq = tokens
        b, n, c = seq.shape
        if n != hw[0] * hw[1]:
            raise ValueError(f'PatchMasker.substitute: {n} tokens do not fill a {hw} grid')
        if c != self.mask_token.numel():
            raise ValueError(
                f'PatchMasker: the mask token has {self.mask_token.numel()} channels but the '
                f'first patch embedding gives {c}; set token_dims={c}'
            )
        grid = self.grid(image_size)
        pix = token_mask_to_pixels(token_mask.to(seq.device), grid, self.patch_size, image_size)
        out = mask_tokens(seq, pixel_mask_to_grid(pix, hw), self.mask_token)
        return out.transpose(1, 2).reshape(b, c, *hw) if as_map else out

    @contextlib.contextmanager
    def tokens_masked_in(
        self, embed: nn.Module, token_mask: torch.Tensor, image_size: Tuple[int, int]
    ) -> Iterator[None]:
        """Forward passes inside the block get :meth:`substitute` applied to the output of
        ``embed`` (MiT: ``backbone.layers[0][0]``, a ``PatchEmbed`` returning
        ``((B, N_1, C_1) tokens, (h_1, w_1))``; a module returning a (B, C_1, h_1, w_1) map also
        works)."""

        def hook(module, args, output):
            if isinstance(output, tuple) and len(output) == 2 and output[0].dim() == 3:
                tokens, hw = output
                return self.substitute(tokens, token_mask, image_size, tuple(hw)), hw
            if isinstance(output, torch.Tensor) and output.dim() == 4:
                return self.substitute(output, token_mask, image_size)
            raise TypeError(
                f'PatchMasker: {type(module).__name__} returned {type(output).__name__}; '
                'expected ((B, N, C) tokens, (h, w)) or a (B, C, h, w) map'
            )

        handle = embed.register_forward_hook(hook)
        try:
            yield
        finally:
            handle.remove()
