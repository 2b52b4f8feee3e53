from .regression_head import SegformerRegressionHead

__all__ = ['SegformerRegressionHead']
