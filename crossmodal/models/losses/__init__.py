from .regression import MaskedL1Loss, MaskedMSELoss, MaskedSmoothL1Loss  # noqa: F401
