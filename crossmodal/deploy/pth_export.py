"""Export a student as a plain-mmseg checkpoint + config (no crossmodal needed to load it).

Writes ``<out>.pth`` = ``{'meta': {'dataset_meta': {classes, palette}, ...}, 'state_dict': ...}``
(tensors and builtins only, so it loads with ``torch.load(weights_only=True)``) and ``<out>.py``: a
config with the student's model, a ``SegDataPreProcessor`` with ``bgr_to_rgb=True`` (mmcv's
``LoadImageFromFile`` reads BGR; crossmodal trained the network on RGB) and a test pipeline
``LoadImageFromFile -> [Resize] -> PackSegInputs``. Load it with
``mmseg.apis.init_model('<out>.py', '<out>.pth')`` (on mmcv-lite + torch >= 2.6
``import crossmodal`` first for the compat layer).
"""
from __future__ import annotations

import os
from typing import Any, Dict, Optional, Tuple

import torch

from .student import StudentInfo

__all__ = ['plain_mmseg_config', 'export_pth']


def _plain(obj: Any) -> Any:
    """ConfigDict/tuple tree -> plain dict/list tree."""
    if hasattr(obj, 'items'):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def plain_mmseg_config(model_cfg: Any, info: StudentInfo,
                       input_size: Optional[Tuple[int, int]] = None) -> Dict[str, Any]:
    """A stand-alone mmseg config dict for the student (BGR file loading, bgr_to_rgb=True)."""
    model = _plain(model_cfg)
    model.get('backbone', {})['init_cfg'] = None
    dp = dict(model['data_preprocessor'])
    if info.network_channel_order == 'RGB':
        dp['bgr_to_rgb'] = True   # LoadImageFromFile yields BGR; the network expects RGB
    else:
        dp['bgr_to_rgb'] = False  # the network was trained on BGR: feed it as loaded
    dp.pop('rgb_to_bgr', None)
    dp['test_cfg'] = dict(size_divisor=info.size_divisor)
    model['data_preprocessor'] = dp
    model['test_cfg'] = dict(mode='whole')
    pipeline = [dict(type='LoadImageFromFile')]
    if input_size is not None:
        pipeline.append(dict(type='Resize', scale=(int(input_size[1]), int(input_size[0])),
                             keep_ratio=False))
    pipeline.append(dict(type='PackSegInputs'))
    return dict(
        default_scope='mmseg', model=model, test_pipeline=pipeline,
        metainfo=dict(classes=list(info.classes), palette=[list(c) for c in info.palette]))


def export_pth(model: torch.nn.Module, model_cfg: Any, info: StudentInfo, out: str,
               input_size: Optional[Tuple[int, int]] = None) -> Tuple[str, str]:
    """Write ``out`` (.pth) and the config beside it (same stem, .py); return both paths."""
    from mmengine.config import Config
    if not out.endswith('.pth'):
        raise ValueError(f'--out must end with .pth for --format pth, got {out}')
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    state_dict = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    meta = {
        'dataset_meta': {'classes': list(info.classes),
                         'palette': [list(map(int, c)) for c in info.palette]},
        'crossmodal_export': {k: v for k, v in info.meta.items()
                              if isinstance(v, (str, int, float, list))},
        'input': {'modality': 'rgb', 'network_channel_order': info.network_channel_order,
                  'mean': list(info.mean), 'std': list(info.std)},
    }
    torch.save({'meta': meta, 'state_dict': state_dict}, out)
    cfg_path = os.path.splitext(out)[0] + '.py'
    Config(plain_mmseg_config(model_cfg, info, input_size)).dump(cfg_path)
    return out, cfg_path
