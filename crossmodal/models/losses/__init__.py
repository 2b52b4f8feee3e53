"""Dense knowledge-distillation losses (registered in mmseg's MODELS registry) and weight schedules.

All losses share ``forward(student_logits, teacher_logits, gt=None)``; see
:mod:`crossmodal.models.losses.dense` for the resizing and void-masking conventions and
docs/methods/losses.md for the formulas and defaults.

Deprecated registry names (still built, warning once): ``DenseKDLoss`` -> ``KDLoss(impl='auto')``,
``ATLoss`` -> ``ActivationAttentionLoss``.
"""

from .attention_transfer import ActivationAttentionLoss, ATLoss
from .bild import BiLDLoss
from .cwd import CWDLoss
from .dense import DenseDistillLoss
from .dkd import DKDLoss
from .feature_mse import FeatureMSELoss
from .kd import DenseKDLoss, KDLoss
from .pld import PLDLoss
from .regression import MaskedL1Loss, MaskedMSELoss, MaskedSmoothL1Loss
from .relational_kd import AffinityKDLoss, AttentionMapKDLoss
from .schedules import LossWeightSchedule
from .taid import TAIDLoss
from .weighted_ce import WeightedCrossEntropyLoss

__all__ = [
    'ActivationAttentionLoss',
    'ATLoss',
    'BiLDLoss',
    'CWDLoss',
    'DenseDistillLoss',
    'DKDLoss',
    'FeatureMSELoss',
    'KDLoss',
    'PLDLoss',
    'LossWeightSchedule',
    'TAIDLoss',
    'MaskedL1Loss',
    'MaskedMSELoss',
    'MaskedSmoothL1Loss',
    'WeightedCrossEntropyLoss',
    'AffinityKDLoss',
    'AttentionMapKDLoss',
    'DenseKDLoss',
]
