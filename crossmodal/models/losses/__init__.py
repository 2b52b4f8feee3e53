from .regression import MaskedL1Loss, MaskedMSELoss, MaskedSmoothL1Loss

__all__ = ['MaskedL1Loss', 'MaskedMSELoss', 'MaskedSmoothL1Loss']
