"""MST-Distill (ACM MM 2025): MaskNet, GateNet, losses and the three-stage
``MSTDistillSegmentor``."""

from .gatenet import GateNet
from .losses import kd_map, load_balancing_loss, masked_teacher_kd, routed_kd, topk_selection
from .masknet import MaskNet, masknet_hidden_dim
from .mst_segmentor import STAGES, MSTDistillSegmentor

__all__ = [
    'GateNet',
    'MaskNet',
    'masknet_hidden_dim',
    'kd_map',
    'load_balancing_loss',
    'masked_teacher_kd',
    'routed_kd',
    'topk_selection',
    'MSTDistillSegmentor',
    'STAGES',
]
