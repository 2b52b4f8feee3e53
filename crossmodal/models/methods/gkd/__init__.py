"""GKD (CVPR 2026): query-based soft distillation (QSD), its stage-1 losses, patch masking (mean
fill or a learned mask token) and the masked-student loss input, the QSD connector."""

from .connector import QSDConnector
from .loss import GKDFeatureLoss
from .masked_student import MaskedStudentInput
from .masking import (
    PatchMasker,
    mask_image_patches,
    mask_tokens,
    pixel_mask_to_grid,
    random_token_mask,
    token_mask_to_pixels,
)
from .qsd import QuerySoftDistiller, flatten_tokens, unflatten_tokens

__all__ = [
    'GKDFeatureLoss',
    'MaskedStudentInput',
    'PatchMasker',
    'QSDConnector',
    'QuerySoftDistiller',
    'flatten_tokens',
    'mask_image_patches',
    'mask_tokens',
    'pixel_mask_to_grid',
    'random_token_mask',
    'token_mask_to_pixels',
    'unflatten_tokens',
]
