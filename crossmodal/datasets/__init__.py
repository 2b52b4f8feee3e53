from . import transforms  # noqa: F401
from .contract import DatasetMetaError, load_meta
from .rgbx_dataset import DataFileError, DatasetLayoutError, RGBXSegDataset

__all__ = ['RGBXSegDataset', 'DatasetLayoutError', 'DataFileError', 'DatasetMetaError', 'load_meta']
