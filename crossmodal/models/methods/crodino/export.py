"""Export parts of CroDiNo-KD: each co-trained model (``rgb``, ``depth``) as a plain mmseg
SegFormer.

Each co-trained model is a stock mmseg ``EncoderDecoder`` (its invariant/specific split lives inside
the stock ``SegformerHead.fusion_conv``), so its part keeps ``models.<name>.*``, strips the prefix
and drops the shared auxiliary decoder (``aux_head.*``) and the other model. Writing is
:mod:`crossmodal.deploy.pth_export` (strict load check; RGB: ``LoadImageFromFile`` +
``bgr_to_rgb=True``; depth: the PNG read unchanged, mean/std rescaled to the stored unit when the
dataset's ``scale`` is known).
"""

from __future__ import annotations

import os.path as osp
from typing import Dict, Optional, Tuple, Union

from mmengine.config import Config

from crossmodal.deploy.parts import ExportPart, register_parts, select_part
from crossmodal.deploy.parts import dataset_input_scale  # noqa: F401  (moved there)

PREFIX = 'models.'


@register_parts('CroDiNoKD')
def crodino_parts(cfg: Config) -> Dict[str, ExportPart]:
    """``{name: ExportPart}`` for each model of ``model.models`` (``rgb`` first when present)."""
    from crossmodal.models.distill.distill_segmentor import model_config

    mc = cfg.model
    models = dict(mc.get('models') or {})
    names = sorted(models, key=lambda n: n != 'rgb')
    parts = {}
    for name in names:
        mods = (mc.get('model_modalities') or {}).get(name) or (name,)
        parts[name] = ExportPart(
            name,
            model_config(models[name], f'model "{name}"'),
            {f'{PREFIX}{name}.': ''},
            'CroDiNoKD',
            mods[0],
            f'segformer_{name}_from_crodino',
            f'a CroDiNoKD checkpoint with a model named {name!r}',
            dict(model=name),
        )
    return parts


def crodino_model_config(cfg: Config, name: str) -> dict:
    """Stock model config of model ``name`` ('rgb' / 'depth') of a CroDiNoKD config."""
    if cfg.model.get('type') != 'CroDiNoKD':
        raise ValueError(
            f'{getattr(cfg, "filename", "config")}: model.type is '
            f'{cfg.model.get("type")!r}, expected CroDiNoKD'
        )
    return select_part(cfg, name).model_cfg


def export_model(
    config: Union[str, Config],
    checkpoint: str,
    out_dir: str,
    modality: str = 'rgb',
    name: Optional[str] = None,
    input_scale: Union[str, float, None] = 'auto',
) -> Tuple[str, str]:
    """Write ``<out_dir>/<name>.py`` + ``.pth`` (default ``segformer_<modality>_from_crodino``):
    model ``modality`` of a CroDiNo-KD run, plain mmseg.

    ``input_scale``: 1-channel models only: stored value x scale = training unit; ``'auto'`` reads
    the dataset's meta.json (warning when not found: the exported model then expects the training
    unit, e.g. depth in metres as a float array). Returns ``(config_path, checkpoint_path)``.
    """
    from crossmodal.deploy.pth_export import export_part_pth

    cfg = Config.fromfile(config) if isinstance(config, str) else config
    crodino_model_config(cfg, modality)
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    name = name or f'segformer_{modality}_from_crodino'
    cfg_path, ckpt_path = osp.join(out_dir, name + '.py'), osp.join(out_dir, name + '.pth')
    export_part_pth(cfg, checkpoint, modality, ckpt_path, cfg_path, input_scale=input_scale)
    return cfg_path, ckpt_path
