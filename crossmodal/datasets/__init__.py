from . import transforms  # noqa: F401
from .meta import DatasetMetaError, load_meta
from .rgbx_dataset import DatasetLayoutError, RGBXSegDataset

__all__ = ['RGBXSegDataset', 'DatasetLayoutError', 'DatasetMetaError', 'load_meta']
