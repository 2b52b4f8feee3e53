"""RTFDNet (arXiv 2603.09149): fusion-decoupling three-branch RGB-X training, CMDR + RDR losses,
export of a single stream as a stock mmseg SegFormer."""

from .losses import CMDRFeatureLoss, CMDRLogitLoss, RDRLoss
from .model import RTFDNet
from . import export  # noqa: F401,E402  (registers the export parts)

__all__ = ['CMDRFeatureLoss', 'CMDRLogitLoss', 'RDRLoss', 'RTFDNet']
