"""Export one RTFDNet stream (RGB or X encoder + its head) as a stock mmseg SegFormer.

The RGB stream never sees fused features (docs/methods/rtfdnet.md (b)), so encoder ``backbones.<rgb>`` +
head ``heads.<rgb>`` are exactly an mmseg ``EncoderDecoder`` with a ``MixVisionTransformer``
backbone and a ``SegformerHead``: keys are renamed ``backbones.<m>.*`` -> ``backbone.*`` and
``heads.<m>.*`` -> ``decode_head.*`` (docs/methods/rtfdnet.md (e).8). The written config uses only stock
mmseg types (no ``custom_imports``), a ``SegDataPreProcessor`` with the stream's normalisation,
and a plain mmseg test pipeline (``LoadImageFromFile``: BGR -> ``bgr_to_rgb=True`` for RGB;
grayscale for a 1-channel X stream), so ``mmseg.apis.init_model`` / ``inference_model`` work on it.
"""
from __future__ import annotations

import copy
import os
import os.path as osp
from typing import Dict, Optional, Tuple

import torch
from mmengine.config import Config

from crossmodal.models.segmentors.multimodal_encoder_decoder import DEFAULT_IN_CHANNELS

MIT_TYPES = ('MiT', 'MixVisionTransformer', 'mmseg.MixVisionTransformer')


class ExportError(ValueError):
    """The config / checkpoint cannot be exported as a stock SegFormer."""


def _branch_modality(model_cfg, branch: str) -> str:
    mods = tuple(model_cfg.get('modalities', ('rgb', 'thermal')))
    if branch in ('rgb', 'x'):
        return mods[0] if branch == 'rgb' else mods[1]
    if branch in mods:
        return branch
    raise ExportError(f"branch must be 'rgb', 'x' or one of {mods}, got {branch!r}")


def stock_config(cfg: Config, branch: str = 'rgb') -> Config:
    """Stock mmseg SegFormer config equivalent to ``branch`` of the RTFDNet config ``cfg``."""
    mc = cfg.model
    if mc.get('type') != 'RTFDNet':
        raise ExportError(f'expected an RTFDNet config, got model type {mc.get("type")!r}')
    m = _branch_modality(mc, branch)
    chans = dict(DEFAULT_IN_CHANNELS)
    chans.update(mc.get('in_channels', None) or {})
    backbone = copy.deepcopy(dict(mc.backbone))
    backbone.update((mc.get('backbone_overrides', None) or {}).get(m, {}))
    if backbone.get('type') not in MIT_TYPES:
        raise ExportError(f'only MiT backbones export to a stock SegFormer, got {backbone.get("type")!r}')
    backbone['type'] = 'MixVisionTransformer'
    backbone.pop('pretrained_path', None)
    backbone.pop('init_cfg', None)
    backbone['in_channels'] = chans[m]
    head = copy.deepcopy(dict(mc.decode_head))
    dp = mc.get('data_preprocessor', None) or {}
    mean = (dp.get('mean', None) or {}).get(m)
    std = (dp.get('std', None) or {}).get(m)
    is_rgb = m == mc.get('modalities', ('rgb', ))[0] and chans[m] == 3
    data_preprocessor = dict(type='SegDataPreProcessor', mean=mean, std=std, bgr_to_rgb=is_rgb,
                             pad_val=0, seg_pad_val=255)
    load = dict(type='LoadImageFromFile') if chans[m] == 3 else \
        dict(type='LoadImageFromFile', color_type='grayscale')
    if chans[m] not in (1, 3):
        raise ExportError(f'modality {m!r} has {chans[m]} channels; plain mmseg image loading gives 1 or 3')
    test_cfg = copy.deepcopy(dict(mc.get('test_cfg', None) or dict(mode='whole')))
    out = dict(
        default_scope='mmseg',
        model=dict(type='EncoderDecoder', data_preprocessor=data_preprocessor, backbone=backbone,
                   decode_head=head, train_cfg=dict(), test_cfg=test_cfg),
        test_pipeline=[load, dict(type='LoadAnnotations'), dict(type='PackSegInputs')],
        exported_from=dict(branch=branch, modality=m))
    return Config(out)


def stock_state_dict(state: Dict[str, torch.Tensor], modality: str) -> Dict[str, torch.Tensor]:
    """Rename ``backbones.<m>.*`` / ``heads.<m>.*`` to ``backbone.*`` / ``decode_head.*``."""
    from crossmodal.utils.checkpoints import add_prefix, select_prefix
    out = {}
    for prefix, new in ((f'backbones.{modality}.', 'backbone.'), (f'heads.{modality}.', 'decode_head.')):
        part = select_prefix(state, prefix)
        if not part:
            raise ExportError(f'the checkpoint has no "{prefix}*" weights (is it an RTFDNet checkpoint '
                              f'with modality {modality!r}?)')
        out.update(add_prefix(part, new))
    return out


def export_branch(config: str, checkpoint: str, out_dir: str, branch: str = 'rgb',
                  name: Optional[str] = None) -> Tuple[str, str]:
    """Write ``<out_dir>/<name>.py`` (stock config) and ``<out_dir>/<name>.pth``.

    The weights are checked by building the stock model and loading them with ``strict=True``.
    Returns ``(config_path, checkpoint_path)``.
    """
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from crossmodal.compat import load_checkpoint_file
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    stock = stock_config(cfg, branch)
    modality = stock.exported_from['modality']
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    ckpt = load_checkpoint_file(checkpoint)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    try:
        new_state = stock_state_dict(state, modality)
    except ExportError as e:
        from crossmodal.utils.checkpoint_kind import describe_checkpoint
        raise ExportError(f'{checkpoint}: {e}; it looks like {describe_checkpoint(state)}') from None
    init_default_scope('mmseg')
    model = MODELS.build(copy.deepcopy(stock.model))
    missing, unexpected = model.load_state_dict(new_state, strict=False)
    if missing or unexpected:
        raise ExportError(f'{checkpoint}: branch {branch!r} does not match a stock SegFormer '
                          f'(missing {missing[:8]}, unexpected {unexpected[:8]})')
    meta = dict(exported_from=dict(config=str(getattr(cfg, 'filename', config)),
                                   checkpoint=checkpoint, branch=branch, modality=modality))
    if isinstance(ckpt, dict) and isinstance(ckpt.get('meta'), dict) and 'dataset_meta' in ckpt['meta']:
        meta['dataset_meta'] = ckpt['meta']['dataset_meta']
    os.makedirs(out_dir, exist_ok=True)
    name = name or f'segformer_{branch}_from_rtfdnet'
    cfg_path = osp.join(out_dir, name + '.py')
    ckpt_path = osp.join(out_dir, name + '.pth')
    stock.dump(cfg_path)
    torch.save(dict(state_dict=new_state, meta=meta), ckpt_path)
    return cfg_path, ckpt_path
