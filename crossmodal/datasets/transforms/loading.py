"""Loading every modality of a sample without losing bits or channels.

mmcv's ``LoadImageFromFile`` turns 16-bit depth into 8-bit and drops alpha (docs/design.md §9),
so non-RGB modalities never go through it. Here:

- RGB: read with cv2 (BGR) and converted to **RGB once**; result ``img`` uint8 HxWx3 (HxWx4
  R,G,B,NIR for an RGBI image stored as PNG RGBA and declared ``"channels": 4``).
- depth: ``IMREAD_UNCHANGED`` (uint16 kept), times meta ``scale`` -> float32 HxW metres.
- thermal: ``IMREAD_UNCHANGED`` -> float32 HxW (stored units, times ``scale`` if declared).
- 3-channel 8-bit modalities (e.g. HHA): uint8 HxWx3, BGR->RGB like the image.
- ``.npy`` modalities (LiDAR rasters) and float32 TIFFs: float32 HxW[xC] as stored; a NaN or inf
  in any float input is an error naming the file and the count of bad pixels.
- label: ``IMREAD_UNCHANGED`` (a palette PNG: its indices, VOC style), 8-bit single channel;
  ``train_id = stored + label_offset``; stored 255 or a negative train id become the ignore index;
  any other value outside ``[0, num_classes)`` is an error.
"""

from __future__ import annotations

from typing import Dict, Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from ..contract import stored_to_train_ids
from ..validation import (
    Problems,
    SampleLoadError,
    check_array,
    check_format,
    check_label_values,
    check_sizes,
    read_array,
)

__all__ = [
    'LoadMultiModalFromFile',
    'SampleLoadError',
    'read_image_file',
    'decode_modality',
    'decode_label',
]


def read_image_file(path: str, role: str = 'modality') -> np.ndarray:
    """Read a file unchanged (bit depth and channel count kept); error names the file.

    ``role='label'``: a palette PNG gives its indices. Rules: :mod:`crossmodal.datasets.validation`.
    """
    return read_array(path, Problems(raise_as=SampleLoadError), role=role)


def decode_modality(arr: np.ndarray, spec: Dict, path: str, name: str = '') -> np.ndarray:
    """Check a stored array against meta.json (dtype, channels, finite values; the shared rules of
    :mod:`~crossmodal.datasets.validation`) and turn it into the in-memory form of
    docs/design.md §3."""
    check_array(arr, spec, path, Problems(raise_as=SampleLoadError), 'modality', name)
    channels = int(spec.get('channels', arr.shape[2] if arr.ndim == 3 else 1))
    if channels == 1:
        if arr.ndim == 3:
            arr = arr[..., 0]
        out = arr.astype(np.float32)
        if 'scale' in spec:
            out *= float(spec['scale'])
        return out
    if path.endswith('.npy'):
        return arr.astype(np.float32)
    if channels == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    elif channels == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA)
    if 'scale' in spec:
        return arr.astype(np.float32) * float(spec['scale'])
    return arr


def decode_label(
    arr: np.ndarray, path: str, label_offset: int, num_classes: int, ignore_index: int = 255
) -> np.ndarray:
    """Stored label -> uint8 train ids (255 = ignore). Raises on a non-8-bit or multi-channel
    label and on out-of-range values (shared rules of :mod:`~crossmodal.datasets.validation`)."""
    problems = Problems(raise_as=SampleLoadError)
    check_format(arr.shape, str(arr.dtype), {}, path, problems, role='label', name='label')
    check_label_values(arr, path, problems, label_offset, num_classes, ignore_index)
    return stored_to_train_ids(arr, label_offset, ignore_index)


@TRANSFORMS.register_module()
class LoadMultiModalFromFile(BaseTransform):
    """Load RGB, every other requested modality and the label of one sample.

    Required keys: ``modality_paths``, ``modality_specs`` (from :class:`RGBXSegDataset`),
    optionally ``seg_map_path``, ``label_offset``, ``num_classes``, ``target_paths``.

    Added keys: ``img`` (uint8 HxWx3 RGB, when 'rgb' is requested), ``modalities``
    ({name: array}, every non-RGB modality), ``gt_seg_map`` (uint8 HxW), ``gt_regression``
    (float32 HxWxK, NaN = no data), ``img_shape``, ``ori_shape``, ``seg_fields``.

    Args:
        with_label: None (default) = load the label when the sample lists one (``seg_map_path``);
            True = require it (a sample without a label is an error); False = never load it.

    Raises:
        SampleLoadError: unreadable/corrupt file, wrong bit depth or channel count, NaN/inf in a
            float input (with the count of bad pixels), modalities or label of different sizes,
            label values outside the classes, a required label the sample lacks. The rules are
            those of :mod:`crossmodal.datasets.validation`, shared with ``tools/check_dataset.py``.
    """

    def __init__(self, with_label: Optional[bool] = None):
        self.with_label = with_label

    def transform(self, results: dict) -> dict:
        paths = results['modality_paths']
        specs = results['modality_specs']
        stem = results.get('stem', '')
        problems = Problems(raise_as=SampleLoadError)
        mods = {}
        shapes = {}
        for name, path in paths.items():
            arr = decode_modality(read_image_file(path), specs.get(name, {}), path, name)
            shapes[name] = (path, arr.shape[:2])
            if name == 'rgb':
                results['img'] = arr
            else:
                mods[name] = arr
        results['modalities'] = mods
        seg_fields = results.setdefault('seg_fields', [])
        if self.with_label and not results.get('seg_map_path'):
            raise SampleLoadError(
                f'sample "{stem}" ({results.get("img_path")}) has no label: its dataset was built '
                f'with with_label=False or from an unlabelled split, but '
                f'LoadMultiModalFromFile(with_label=True) '
                f'asks for one; use with_label=False (or leave it unset) and a label-free pipeline'
            )
        if self.with_label is not False and results.get('seg_map_path'):
            path = results['seg_map_path']
            lab = decode_label(
                read_image_file(path, role='label'),
                path,
                results.get('label_offset', 0),
                results.get('num_classes', 256),
                results.get('ignore_index', 255),
            )
            shapes['label'] = (path, lab.shape[:2])
            results['gt_seg_map'] = lab
            if 'gt_seg_map' not in seg_fields:
                seg_fields.append('gt_seg_map')
        if results.get('target_paths'):
            planes = []
            tspecs = results.get('target_specs', {})
            for name, path in results['target_paths'].items():
                arr = read_image_file(path)
                check_array(arr, tspecs.get(name, {}), path, problems, 'target', name, stem)
                shapes[f'target:{name}'] = (path, arr.shape[:2])
                planes.append(arr.astype(np.float32))
            results['gt_regression'] = np.stack(planes, axis=-1)
        check_sizes(shapes, problems, stem)
        h, w = next(iter(shapes.values()))[1]
        results['img_shape'] = (h, w)
        results['ori_shape'] = (h, w)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(with_label={self.with_label})'
