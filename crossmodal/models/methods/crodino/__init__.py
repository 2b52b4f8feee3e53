"""CroDiNo-KD (arXiv 2505.24361, reconstruction): teacher-free co-training of an RGB and a depth
SegFormer with invariant/specific features, a shared auxiliary decoder, pixel-level cross-modal
InfoNCE and orthogonality; export of either model as a stock mmseg SegFormer."""

from .aux_head import CroDiNoAuxHead
from .losses import ModalityClassifier, OrthogonalityLoss, PixelInfoNCELoss, info_nce_pairs
from .model import CroDiNoKD
from . import export  # noqa: F401,E402  (registers the export parts)

__all__ = [
    'CroDiNoAuxHead',
    'CroDiNoKD',
    'ModalityClassifier',
    'OrthogonalityLoss',
    'PixelInfoNCELoss',
    'info_nce_pairs',
]
