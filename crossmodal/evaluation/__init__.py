from .iou_metric import PerClassIoUMetric
from .regression_metric import RegressionMetric

__all__ = ['PerClassIoUMetric', 'RegressionMetric']
