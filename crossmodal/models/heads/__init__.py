from .dual_head_segformer import DualHeadSegformerHead
from .regression_head import SegformerRegressionHead

__all__ = ['DualHeadSegformerHead', 'SegformerRegressionHead']
