from .sff import SFF, ConcatFusion, SumFusion

__all__ = ['SFF', 'ConcatFusion', 'SumFusion']
