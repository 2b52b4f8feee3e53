"""Loading every modality of a sample without losing bits or channels.

mmcv's ``LoadImageFromFile`` turns 16-bit depth into 8-bit and drops alpha (frameworks.md C.4),
so non-RGB modalities never go through it. Here:

- RGB: read with cv2 (BGR) and converted to **RGB once**; result ``img`` uint8 HxWx3.
- depth: ``IMREAD_UNCHANGED`` (uint16 kept), times meta ``scale`` -> float32 HxW metres.
- thermal: ``IMREAD_UNCHANGED`` -> float32 HxW (stored units, times ``scale`` if declared).
- 3-channel 8-bit modalities (e.g. HHA): uint8 HxWx3, BGR->RGB like the image.
- ``.npy`` modalities (LiDAR rasters): float32 HxW[xC] as stored.
- label: ``IMREAD_UNCHANGED``; ``train_id = stored + label_offset``; stored 255 or a negative
  train id become the ignore index; any other value outside ``[0, num_classes)`` is an error.
"""
from __future__ import annotations

import os
from typing import Dict

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


class SampleLoadError(ValueError):
    """A file of a sample is unreadable, has the wrong format, or disagrees with the others."""


def read_image_file(path: str) -> np.ndarray:
    """Read an image file unchanged (bit depth and channel count kept); error names the file."""
    if not os.path.isfile(path):
        raise SampleLoadError(f'{path}: file does not exist')
    if path.endswith('.npy'):
        try:
            return np.load(path, allow_pickle=False)
        except Exception as e:
            raise SampleLoadError(f'{path}: cannot read .npy array: {e}') from e
    buf = np.fromfile(path, dtype=np.uint8)
    arr = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if buf.size else None
    if arr is None:
        raise SampleLoadError(f'{path}: unreadable or corrupt image file')
    return arr


def decode_modality(arr: np.ndarray, spec: Dict, path: str) -> np.ndarray:
    """Turn a stored array into the in-memory form of DESIGN.md §3 (see module docstring)."""
    channels = int(spec.get('channels', arr.shape[2] if arr.ndim == 3 else 1))
    want_dtype = spec.get('dtype')
    if want_dtype and path.endswith(('.png', '.tif', '.tiff')) and str(arr.dtype) != want_dtype:
        raise SampleLoadError(
            f'{path}: stored as {arr.dtype} but meta.json declares {want_dtype} '
            f'(wrong bit depth; was a 16-bit image saved as 8-bit?)')
    if channels == 1:
        if arr.ndim == 3:
            if arr.shape[2] != 1:
                raise SampleLoadError(
                    f'{path}: expected a single-channel image, got {arr.shape[2]} channels')
            arr = arr[..., 0]
        out = arr.astype(np.float32)
        if 'scale' in spec:
            out *= float(spec['scale'])
        return out
    if arr.ndim != 3 or arr.shape[2] != channels:
        got = arr.shape[2] if arr.ndim == 3 else 1
        raise SampleLoadError(f'{path}: expected {channels} channels, got {got}')
    if path.endswith('.npy'):
        return arr.astype(np.float32)
    if channels == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    elif channels == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA)
    if 'scale' in spec:
        return arr.astype(np.float32) * float(spec['scale'])
    return arr


def decode_label(arr: np.ndarray, path: str, label_offset: int, num_classes: int,
                 ignore_index: int = 255) -> np.ndarray:
    """Stored label -> uint8 train ids (255 = ignore). Raises on out-of-range values."""
    if arr.ndim == 3:
        if arr.shape[2] == 1 or (np.all(arr[..., 0] == arr[..., 1]) and np.all(arr[..., 1] == arr[..., 2])):
            arr = arr[..., 0]
        else:
            raise SampleLoadError(
                f'{path}: label is a colour image; expected a single-channel map of class ids')
    stored = arr.astype(np.int32)
    train = stored + int(label_offset)
    void = (stored == 255) | (train < 0) | (train == ignore_index)
    bad = ~void & (train >= num_classes)
    if bad.any():
        vals = np.unique(stored[bad])[:10].tolist()
        raise SampleLoadError(
            f'{path}: label values {vals} are outside the {num_classes} classes '
            f'(label_offset {label_offset}) and are not the ignore index')
    train[void] = 255
    return train.astype(np.uint8)


@TRANSFORMS.register_module()
class LoadMultiModalFromFile(BaseTransform):
    """Load RGB, every other requested modality and the label of one sample.

    Required keys: ``modality_paths``, ``modality_specs`` (from :class:`RGBXSegDataset`),
    optionally ``seg_map_path``, ``label_offset``, ``num_classes``, ``target_paths``.

    Added keys: ``img`` (uint8 HxWx3 RGB, when 'rgb' is requested), ``modalities``
    ({name: array}, every non-RGB modality), ``gt_seg_map`` (uint8 HxW), ``gt_regression``
    (float32 HxWxK, NaN = no data), ``img_shape``, ``ori_shape``, ``seg_fields``.

    Raises:
        SampleLoadError: unreadable/corrupt file, wrong bit depth or channel count, modalities
            or label of different sizes, label values outside the classes.
    """

    def __init__(self, with_label: bool = True):
        self.with_label = with_label

    def transform(self, results: dict) -> dict:
        paths = results['modality_paths']
        specs = results['modality_specs']
        mods = {}
        shapes = {}
        for name, path in paths.items():
            arr = decode_modality(read_image_file(path), specs.get(name, {}), path)
            shapes[name] = (path, arr.shape[:2])
            if name == 'rgb':
                if arr.ndim != 3 or arr.shape[2] != 3:
                    raise SampleLoadError(f'{path}: RGB image must have 3 channels, got '
                                          f'{arr.shape[2] if arr.ndim == 3 else 1}')
                results['img'] = arr
            else:
                mods[name] = arr
        results['modalities'] = mods
        seg_fields = results.setdefault('seg_fields', [])
        if self.with_label and results.get('seg_map_path'):
            path = results['seg_map_path']
            lab = decode_label(read_image_file(path), path, results.get('label_offset', 0),
                               results.get('num_classes', 256), results.get('ignore_index', 255))
            shapes['label'] = (path, lab.shape[:2])
            results['gt_seg_map'] = lab
            if 'gt_seg_map' not in seg_fields:
                seg_fields.append('gt_seg_map')
        if results.get('target_paths'):
            planes = []
            for name, path in results['target_paths'].items():
                arr = read_image_file(path).astype(np.float32)
                if arr.ndim != 2:
                    raise SampleLoadError(f'{path}: regression target must be HxW, got {arr.shape}')
                shapes[f'target {name}'] = (path, arr.shape)
                planes.append(arr)
            results['gt_regression'] = np.stack(planes, axis=-1)
        sizes = {s for _, s in shapes.values()}
        if len(sizes) > 1:
            listing = ', '.join(f'{k} {tuple(s)} ({p})' for k, (p, s) in shapes.items())
            raise SampleLoadError(f'modalities of different sizes in one sample: {listing}')
        h, w = next(iter(sizes))
        results['img_shape'] = (h, w)
        results['ori_shape'] = (h, w)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(with_label={self.with_label})'
