"""The one plain-mmseg writer: a stock model's config + weights that ``mmseg.apis.init_model``
loads.

Writes ``<name>.pth`` = ``{'state_dict', 'meta': {'dataset_meta', 'exported_from', 'mmseg_config',
'input'}}`` (tensors and builtins only: ``torch.load(weights_only=True)`` reads it) and
``<name>.py``: ``default_scope='mmseg'``, the stock model (no crossmodal types, no pretrained
``init_cfg``) and a test pipeline ``LoadImageFromFile -> [Resize] -> PackSegInputs``. Load it with
``mmseg.apis.init_model('<name>.py', '<name>.pth')`` (on mmcv-lite + torch >= 2.6
``import crossmodal`` first, for the compat layer only).

The input rules live here and only here:

* channel order (:func:`network_channel_order`): the network saw the order of the training loader
  (mmcv's ``LoadImageFromFile`` / ``LoadImageFromNDArray``: BGR; crossmodal's loaders: RGB),
  flipped once if the trained pre-processor sets ``bgr_to_rgb`` or ``rgb_to_bgr``. mmseg's
  ``LoadImageFromFile`` reads BGR, so a 3-channel export sets ``bgr_to_rgb`` exactly when the
  network saw RGB;
* 1 channel (depth, thermal): the file is read unchanged (``color_type='unchanged'``, cv2, float32:
  16-bit PNGs keep their values, as crossmodal's loader reads them) and, with the dataset's
  ``scale`` (stored value x scale = training unit), mean/std are divided by it so the stored file
  gives exactly the training input; without a scale the model expects the training unit;
* test-time padding: the trained pre-processor's ``test_cfg``, else padding to its
  ``size_divisor`` when it declares one (the deploy convention: ``crossmodal.apis.Segmenter`` and
  dynamic ONNX graphs pad to it).
"""

from __future__ import annotations

import copy
import os
import os.path as osp
import warnings
from typing import Any, Dict, Optional, Tuple, Union

import torch

__all__ = [
    'network_channel_order',
    'plain_mmseg_config',
    'write_plain_model',
    'export_part_pth',
    'write_loaded_part',
    'export_pth',
]

MMCV_LOADERS = ('LoadImageFromFile', 'LoadImageFromNDArray')


def _plain(obj: Any) -> Any:
    """ConfigDict/tuple tree -> plain dict/list tree."""
    if hasattr(obj, 'items'):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def network_channel_order(cfg: Any, dp: Any) -> str:
    """'RGB' or 'BGR': the channel order the network was trained on (3-channel models).

    ``cfg``: the training config (its ``test_pipeline`` / ``train_pipeline`` names the loader;
    None: crossmodal's loaders, RGB); ``dp``: the model's trained ``data_preprocessor``.
    """
    pipeline = (cfg.get('test_pipeline') or cfg.get('train_pipeline') or []) if cfg else []
    first = pipeline[0].get('type', '') if pipeline and hasattr(pipeline[0], 'get') else ''
    first = first if isinstance(first, str) else getattr(first, '__name__', '')
    loaded = 'BGR' if first.split('.')[-1] in MMCV_LOADERS else 'RGB'
    if dp.get('bgr_to_rgb', False) or dp.get('rgb_to_bgr', False):
        return 'RGB' if loaded == 'BGR' else 'BGR'
    return loaded


def plain_mmseg_config(
    model_cfg: Any,
    channel_order: str = 'RGB',
    input_scale: Optional[float] = None,
    input_size: Optional[Tuple[int, int]] = None,
) -> Dict[str, Any]:
    """The stand-alone mmseg config (``default_scope``, ``model``, ``test_pipeline``) of a stock
    model trained in crossmodal (rules: module docstring)."""
    from .parts import ExportError

    model = _plain(model_cfg)
    model.pop('pretrained', None)
    if isinstance(model.get('backbone'), dict):
        model['backbone'].pop('init_cfg', None)
    model.setdefault('test_cfg', dict(mode='whole'))
    dp = dict(model.get('data_preprocessor') or {})
    if dp.get('type', 'SegDataPreProcessor') != 'SegDataPreProcessor':
        raise ExportError(
            f'the model uses {dp.get("type")}; export needs a stock SegDataPreProcessor'
        )
    bb = model.get('backbone') or {}
    channels = int(bb.get('in_channels', 3))
    if channels == 3:
        dp.pop('rgb_to_bgr', None)
        dp['bgr_to_rgb'] = channel_order == 'RGB'  # LoadImageFromFile reads BGR
        load = dict(type='LoadImageFromFile')
    elif channels == 1:
        if dp.get('bgr_to_rgb') or dp.get('rgb_to_bgr'):
            raise ExportError('a 1-channel model cannot flip channels (bgr_to_rgb/rgb_to_bgr set)')
        if input_scale is not None:
            if not input_scale > 0:
                raise ExportError(f'input_scale must be > 0, got {input_scale}')
            if dp.get('mean') is not None:
                dp['mean'] = [float(v) / input_scale for v in dp['mean']]
                dp['std'] = [float(v) / input_scale for v in dp['std']]
        load = dict(
            type='LoadImageFromFile',
            color_type='unchanged',
            imdecode_backend='cv2',
            to_float32=True,
        )
    else:
        raise ExportError(
            f'the model takes {channels} input channels; plain mmseg image loading gives 1 or 3'
        )
    if not dp.get('test_cfg') and dp.get('size_divisor'):
        dp['test_cfg'] = dict(size_divisor=int(dp['size_divisor']))
    model['data_preprocessor'] = dp
    pipeline = [load]
    if input_size is not None:
        pipeline.append(
            dict(type='Resize', scale=(int(input_size[1]), int(input_size[0])), keep_ratio=False)
        )
    pipeline.append(dict(type='PackSegInputs'))
    return dict(default_scope='mmseg', model=model, test_pipeline=pipeline)


def write_plain_model(
    model_cfg: dict,
    state: dict,
    out_ckpt: str,
    out_config: str,
    dataset_meta: Optional[dict] = None,
    exported_from: Optional[dict] = None,
    input_scale: Optional[float] = None,
    *,
    channel_order: Optional[str] = None,
    input_size: Optional[Tuple[int, int]] = None,
) -> dict:
    """Write a stock mmseg model (config + weights); the weights must fit it exactly.

    Args:
        model_cfg: the stock model's config as trained (``EncoderDecoder`` +
            ``SegDataPreProcessor``).
        state: its state dict (stock keys), checked by building the model (strict).
        out_ckpt, out_config: output ``.pth`` / ``.py`` paths.
        dataset_meta: classes/palette, stored in the checkpoint as given (``init_model`` returns it
            as ``model.dataset_meta``) and in the config.
        exported_from: provenance, stored in both files.
        input_scale: 1-channel models: stored value x scale = training unit.
        channel_order: the order the network was trained on (default: :func:`network_channel_order`
            with crossmodal's loaders).
        input_size: (H, W): the test pipeline resizes to it.

    Returns:
        ``dict(checkpoint, config, state_dict_numel)`` (elements of all saved tensors, parameters
        and BN running statistics).
    """
    from mmengine.config import Config

    from .parts import ExportPart, build_part

    dp = model_cfg.get('data_preprocessor') or {}
    order = channel_order or network_channel_order(None, dp)
    plain = plain_mmseg_config(model_cfg, order, input_scale, input_size)
    build_part(
        ExportPart('model', plain['model'], {'': ''}, 'EncoderDecoder'),
        state,
        (exported_from or {}).get('checkpoint') or out_ckpt,
        out_config,
    )
    plain['exported_from'] = dict(exported_from or {})
    if input_scale is not None:
        plain['exported_from']['input_scale'] = float(input_scale)
    if dataset_meta:
        plain['dataset_meta'] = dict(
            classes=list(dataset_meta.get('classes', [])),
            palette=[list(p) for p in dataset_meta.get('palette', [])],
        )
    for path in (out_ckpt, out_config):
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    Config(copy.deepcopy(plain)).dump(out_config)
    dp = plain['model']['data_preprocessor']
    meta = {
        'exported_from': plain['exported_from'],
        'mmseg_config': osp.basename(out_config),
        'input': {
            'channels': int(plain['model']['backbone'].get('in_channels', 3)),
            'network_channel_order': order,
            'mean': dp.get('mean'),
            'std': dp.get('std'),
        },
    }
    if dataset_meta:
        meta['dataset_meta'] = dataset_meta
    state = {k: v.detach().cpu().clone() if torch.is_tensor(v) else v for k, v in state.items()}
    torch.save({'state_dict': state, 'meta': meta}, out_ckpt)
    return dict(
        checkpoint=out_ckpt,
        config=out_config,
        state_dict_numel=int(
            sum(
                v.numel()
                for k, v in state.items()
                if torch.is_tensor(v) and 'num_batches_tracked' not in k
            )
        ),
    )


def _input_scale(cfg: Any, part, input_scale: Union[str, float, None]) -> Optional[float]:
    if part.in_channels != 1 or input_scale != 'auto':
        return None if part.in_channels != 1 else input_scale
    from .parts import dataset_input_scale

    found, scale = dataset_input_scale(cfg, part.modality)
    if not found:
        warnings.warn(
            f'export of {part.name!r}: no stored-unit scale found (dataset meta.json not '
            f'reachable); the exported model expects the training unit (pass a float '
            f'array to inference_model) or use input_scale=... / --input-scale'
        )
    return scale


def export_part_pth(
    config: Any,
    checkpoint: str,
    part: Optional[str],
    out_ckpt: str,
    out_config: str,
    student_prefix: Optional[str] = None,
    input_scale: Union[str, float, None] = 'auto',
    input_size: Optional[Tuple[int, int]] = None,
    dataset_meta: Union[dict, str, None] = None,
    head_alpha: Optional[float] = None,
) -> dict:
    """Extract part ``part`` of ``config``'s model from ``checkpoint`` (strictly:
    :func:`crossmodal.deploy.student.load_part`) and write it with :func:`write_plain_model`.

    A DHO student (``DualHeadSegformerHead``) is written as a stock ``SegformerHead`` with its two
    classifiers folded (:mod:`crossmodal.deploy.head_fold`) at the config's alpha or
    ``head_alpha``.

    ``input_scale``: 1-channel parts: ``'auto'`` reads the dataset's meta.json (a warning when it
    is not found). ``dataset_meta``: default the classes / palette of the checkpoint's
    ``meta.dataset_meta``, else of the config or dataset (as lists); ``'as_stored'``: the
    checkpoint's ``meta.dataset_meta`` with its types unchanged.

    Returns: :func:`write_plain_model`'s dict plus ``part``, ``classes``, ``dropped_key_groups``.
    """
    from .student import load_part

    model, cfg, p, info = load_part(config, checkpoint, part, student_prefix, head_alpha=head_alpha)
    return write_loaded_part(
        model, cfg, p, info, out_ckpt, out_config, input_scale, input_size, dataset_meta
    )


def write_loaded_part(
    model: torch.nn.Module,
    cfg: Any,
    part,
    info,
    out_ckpt: str,
    out_config: str,
    input_scale: Union[str, float, None] = 'auto',
    input_size: Optional[Tuple[int, int]] = None,
    dataset_meta: Union[dict, str, None] = None,
) -> dict:
    """:func:`write_plain_model` for a part loaded
    by :func:`crossmodal.deploy.student.load_part`."""
    if dataset_meta == 'as_stored':  # the checkpoint's own dataset_meta, types unchanged
        dataset_meta = info.dataset_meta
    dmeta = dataset_meta or {
        'classes': list(info.classes),
        'palette': [list(map(int, c)) for c in info.palette],
    }
    src = {k: v for k, v in info.meta.items() if isinstance(v, (str, int, float, list))}
    src.update(method=part.method, part=part.name, modality=part.modality, **part.extra)
    out = write_plain_model(
        part.model_cfg,
        model.state_dict(),
        out_ckpt,
        out_config,
        dmeta,
        src,
        _input_scale(cfg, part, input_scale),
        channel_order=info.network_channel_order,
        input_size=input_size,
    )
    out.update(
        part=part.name,
        classes=len(info.classes),
        dropped_key_groups=info.meta.get('dropped_key_groups', []),
    )
    return out


def export_pth(
    model: torch.nn.Module,
    model_cfg: Any,
    info,
    out: str,
    input_size: Optional[Tuple[int, int]] = None,
) -> Tuple[str, str]:
    """A loaded student (:func:`crossmodal.deploy.load_student`) -> ``out`` (.pth) and the config
    beside it (same stem, .py); returns both paths."""
    if not out.endswith('.pth'):
        raise ValueError(f'--out must end with .pth for --format pth, got {out}')
    cfg_path = os.path.splitext(out)[0] + '.py'
    dmeta = {'classes': list(info.classes), 'palette': [list(map(int, c)) for c in info.palette]}
    src = {k: v for k, v in info.meta.items() if isinstance(v, (str, int, float, list))}
    write_plain_model(
        model_cfg,
        model.state_dict(),
        out,
        cfg_path,
        dmeta,
        src,
        channel_order=info.network_channel_order,
        input_size=input_size,
    )
    return out, cfg_path
