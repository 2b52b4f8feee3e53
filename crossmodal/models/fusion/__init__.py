from .cross_attention import CrossAttentionFusion
from .sff import SFF, ConcatFusion, SumFusion

__all__ = ['CrossAttentionFusion', 'SFF', 'ConcatFusion', 'SumFusion']
