"""Export parts of RTFDNet: its RGB and X streams, each a stock mmseg SegFormer.

The RGB stream never sees fused features (docs/methods/rtfdnet.md (b)), so encoder
``backbones.<m>`` + head ``heads.<m>`` are exactly an mmseg ``EncoderDecoder``
(``MixVisionTransformer`` + ``SegformerHead``): keys ``backbones.<m>.*`` -> ``backbone.*``,
``heads.<m>.*`` -> ``decode_head.*`` (docs/methods/rtfdnet.md (e).8). Parts: ``rgb`` (default) and
``x``, also by modality name. Writing (plain mmseg config, channel order, 1-channel loading)
is :mod:`crossmodal.deploy.pth_export`.
"""

from __future__ import annotations

import copy
import os.path as osp
from typing import Dict, Optional, Tuple

import torch

from mmengine.config import Config

from crossmodal.deploy.parts import ExportError, ExportPart, register_parts, select_part
from crossmodal.models.segmentors.multimodal_encoder_decoder import DEFAULT_IN_CHANNELS

MIT_TYPES = ('MiT', 'MixVisionTransformer', 'mmseg.MixVisionTransformer')
__all__ = ['ExportError', 'rtfdnet_parts', 'stock_config', 'export_branch']


def _stream(mc, branch: str, m: str) -> ExportPart:
    chans = dict(DEFAULT_IN_CHANNELS)
    chans.update(mc.get('in_channels', None) or {})
    backbone = copy.deepcopy(dict(mc.backbone))
    backbone.update((mc.get('backbone_overrides', None) or {}).get(m, {}))
    if backbone.get('type') not in MIT_TYPES:
        raise ExportError(
            f'only MiT backbones export to a stock SegFormer, got {backbone.get("type")!r}'
        )
    backbone.update(type='MixVisionTransformer', in_channels=chans[m])
    backbone.pop('pretrained_path', None)
    backbone.pop('init_cfg', None)
    dp = mc.get('data_preprocessor', None) or {}
    # crossmodal's loaders yield RGB and MultiModalDataPreprocessor flips nothing
    data_preprocessor = dict(
        type='SegDataPreProcessor',
        mean=(dp.get('mean', None) or {}).get(m),
        std=(dp.get('std', None) or {}).get(m),
        bgr_to_rgb=False,
        pad_val=0,
        seg_pad_val=255,
    )
    if dp.get('test_cfg', None):
        data_preprocessor['test_cfg'] = copy.deepcopy(dict(dp['test_cfg']))
    model = dict(
        type='EncoderDecoder',
        data_preprocessor=data_preprocessor,
        backbone=backbone,
        decode_head=copy.deepcopy(dict(mc.decode_head)),
        train_cfg=dict(),
        test_cfg=copy.deepcopy(dict(mc.get('test_cfg', None) or dict(mode='whole'))),
    )
    return ExportPart(
        branch,
        model,
        {f'backbones.{m}.': 'backbone.', f'heads.{m}.': 'decode_head.'},
        'RTFDNet',
        m,
        f'segformer_{branch}_from_rtfdnet',
        f'an RTFDNet checkpoint with modality {m!r}',
        dict(branch=branch),
    )


@register_parts('RTFDNet')
def rtfdnet_parts(cfg: Config) -> Dict[str, ExportPart]:
    """``{'rgb', 'x', <modality names>: ExportPart}`` of an RTFDNet config (``rgb`` first)."""
    mc = cfg.model
    mods = tuple(mc.get('modalities', ('rgb', 'thermal')))
    parts = {'rgb': _stream(mc, 'rgb', mods[0]), 'x': _stream(mc, 'x', mods[1])}
    for m in mods:
        parts.setdefault(m, _stream(mc, m, m))
    return parts


def stock_state_dict(state: Dict[str, torch.Tensor], modality: str) -> Dict[str, torch.Tensor]:
    """Rename ``backbones.<m>.*`` / ``heads.<m>.*`` to ``backbone.*`` / ``decode_head.*``."""
    from crossmodal.utils.checkpoints import add_prefix, select_prefix

    out = {}
    for prefix, new in (
        (f'backbones.{modality}.', 'backbone.'),
        (f'heads.{modality}.', 'decode_head.'),
    ):
        part = select_prefix(state, prefix)
        if not part:
            raise ExportError(
                f'the checkpoint has no "{prefix}*" weights (is it an RTFDNet checkpoint '
                f'with modality {modality!r}?)'
            )
        out.update(add_prefix(part, new))
    return out


def stock_config(cfg: Config, branch: str = 'rgb') -> Config:
    """Stock mmseg SegFormer config (``.model``) of ``branch`` of the RTFDNet config ``cfg``."""
    if cfg.model.get('type') != 'RTFDNet':
        raise ExportError(f'expected an RTFDNet config, got model type {cfg.model.get("type")!r}')
    part = select_part(cfg, branch)
    return Config(
        dict(
            default_scope='mmseg',
            model=part.model_cfg,
            exported_from=dict(branch=branch, modality=part.modality),
        )
    )


def export_branch(
    config,
    checkpoint: str,
    out_dir: str,
    branch: str = 'rgb',
    name: Optional[str] = None,
    input_scale='auto',
) -> Tuple[str, str]:
    """Write ``<out_dir>/<name>.py`` + ``.pth`` (default name ``segformer_<branch>_from_rtfdnet``):
    :func:`crossmodal.deploy.pth_export.export_part_pth` of part ``branch``."""
    from crossmodal.deploy.pth_export import export_part_pth

    cfg = Config.fromfile(config) if isinstance(config, str) else config
    stock_config(cfg, branch)  # RTFDNet config and a valid branch
    name = name or f'segformer_{branch}_from_rtfdnet'
    cfg_path, ckpt_path = osp.join(out_dir, name + '.py'), osp.join(out_dir, name + '.pth')
    # as before: the checkpoint's dataset_meta is stored with its types unchanged
    export_part_pth(
        cfg,
        checkpoint,
        branch,
        ckpt_path,
        cfg_path,
        input_scale=input_scale,
        dataset_meta='as_stored',
    )
    return cfg_path, ckpt_path
