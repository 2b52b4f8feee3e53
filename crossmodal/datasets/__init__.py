from . import transforms  # noqa: F401
from .contract import DatasetMetaError, load_meta
from .mixed_labels import MixedBatchSampler, MixedLabelDataset
from .rgbx_dataset import DataFileError, DatasetLayoutError, RGBXSegDataset

__all__ = [
    'RGBXSegDataset',
    'MixedLabelDataset',
    'MixedBatchSampler',
    'DatasetLayoutError',
    'DataFileError',
    'DatasetMetaError',
    'load_meta',
]
