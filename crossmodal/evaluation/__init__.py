from .iou_metric import PerClassIoUMetric
from .multi_head_iou import MultiHeadIoUMetric

__all__ = ['MultiHeadIoUMetric', 'PerClassIoUMetric']
