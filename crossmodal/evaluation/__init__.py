from .aug_test import MultiScaleFlipAugModel
from .iou_metric import PerClassIoUMetric
from .multi_head_iou import MultiHeadIoUMetric
from .regression_metric import RegressionMetric
from .visualization import StemSegVisualizationHook

__all__ = [
    'MultiScaleFlipAugModel',
    'MultiHeadIoUMetric',
    'PerClassIoUMetric',
    'RegressionMetric',
    'StemSegVisualizationHook',
]
