"""The JSON sidecar (``<model>.onnx.json``) that travels with an exported student.

The sidecar is everything a robot needs besides the ``.onnx`` file: class names, palette, input
modality, channel order, mean/std (informational: normalisation is baked into the graph), input size
or "dynamic", and the resize/pad policy. It is written by :mod:`crossmodal.deploy.onnx_export` and
read here without torch.

Schema (``format`` = ``crossmodal.segmenter``, ``version`` = 1)::

    {
      "format": "crossmodal.segmenter", "version": 1,
      "classes": ["wall", ...], "palette": [[r, g, b], ...], "num_classes": K,
      "input": {
        "name": "input", "modality": "rgb", "channel_order": "RGB", "layout": "NCHW",
        "dtype": "float32", "value_range": [0, 255],
        "normalization": "in_graph", "mean": [...], "std": [...],
        "dynamic": false, "size": [H, W] or null, "size_divisor": 32,
        "resize_policy": "resize" | "pad", "pad_value": [...]   # raw pixel value = mean
      },
      "output": {"name": "logits", "layout": "NCHW", "dtype": "float32",
                 "meaning": "class logits (K channels) at the resolution of the graph input"},
      ...provenance fields
    }
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict

FORMAT = 'crossmodal.segmenter'
VERSION = 1

__all__ = ['FORMAT', 'VERSION', 'SidecarError', 'sidecar_path', 'load_spec', 'validate_spec']


class SidecarError(ValueError):
    """The sidecar JSON of an exported model is missing or malformed."""


def sidecar_path(model_path: str) -> str:
    """``student.onnx`` -> ``student.onnx.json``."""
    return model_path + '.json'


def validate_spec(spec: Dict[str, Any], where: str = '<spec>') -> Dict[str, Any]:
    """Check the fields the runtime relies on; raise :class:`SidecarError` naming ``where``."""

    def bad(msg: str) -> SidecarError:
        return SidecarError(f'{where}: {msg}')

    if not isinstance(spec, dict):
        raise bad('the sidecar must be a JSON object')
    if spec.get('format') != FORMAT:
        raise bad(f'"format" is {spec.get("format")!r}, expected {FORMAT!r}')
    if spec.get('version') != VERSION:
        raise bad(f'"version" is {spec.get("version")!r}; this runtime reads version {VERSION}')
    for key in ('classes', 'palette', 'input', 'output'):
        if key not in spec:
            raise bad(f'missing key "{key}"')
    classes, palette = spec['classes'], spec['palette']
    if len(classes) != len(palette):
        raise bad(f'{len(classes)} classes but {len(palette)} palette colours')
    if any(len(c) != 3 for c in palette):
        raise bad('every palette entry must be [r, g, b]')
    if 'num_classes' in spec and spec['num_classes'] != len(classes):
        raise bad(f'"num_classes" is {spec["num_classes"]} but {len(classes)} classes are listed')
    inp = spec['input']
    for key in (
        'name',
        'modality',
        'channel_order',
        'mean',
        'std',
        'dynamic',
        'resize_policy',
        'normalization',
    ):
        if key not in inp:
            raise bad(f'missing key "input.{key}"')
    if inp['channel_order'] != 'RGB':
        raise bad(f'input.channel_order is {inp["channel_order"]!r}; only "RGB" is supported')
    if inp['resize_policy'] not in ('resize', 'pad'):
        raise bad(f'input.resize_policy must be "resize" or "pad", got {inp["resize_policy"]!r}')
    if inp['resize_policy'] == 'resize' and (not inp.get('size') or len(inp['size']) != 2):
        raise bad('input.resize_policy "resize" needs input.size = [H, W]')
    if inp['resize_policy'] == 'pad' and int(inp.get('size_divisor') or 0) < 1:
        raise bad('input.resize_policy "pad" needs input.size_divisor >= 1')
    if inp['normalization'] not in ('in_graph', 'none'):
        raise bad(f'input.normalization must be "in_graph" or "none", got {inp["normalization"]!r}')
    if 'name' not in spec['output']:
        raise bad('missing key "output.name"')
    return spec


def load_spec(model_path: str) -> Dict[str, Any]:
    """Read and validate the sidecar of ``model_path``.

    Raises:
        SidecarError: the sidecar is absent (the message says how to create it) or malformed.
    """
    path = sidecar_path(model_path)
    if not os.path.isfile(path):
        raise SidecarError(
            f'{model_path}: its sidecar {path} is missing. An exported model needs the JSON '
            f'sidecar written next to it by `tools/export.py <config> <ckpt> --format onnx --out '
            f'{os.path.basename(model_path)}` (class names, palette, mean/std, input size); copy '
            f'both files together.'
        )
    try:
        with open(path, encoding='utf-8') as f:
            spec = json.load(f)
    except json.JSONDecodeError as e:
        raise SidecarError(f'{path}: not valid JSON ({e})') from e
    return validate_spec(spec, where=path)
