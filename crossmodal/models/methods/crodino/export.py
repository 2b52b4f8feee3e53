"""Export one model of a CroDiNo-KD run as a plain mmseg SegFormer.

Each co-trained model is a stock mmseg ``EncoderDecoder`` (its invariant/specific split lives inside
the stock ``SegformerHead.fusion_conv``), so export is: keep ``models.<name>.*``, strip the prefix,
drop the shared auxiliary decoder (``aux_head.*``) and the other model, and write the model's own
config through :func:`crossmodal.models.distill.export.write_plain_model` (strict load check; RGB:
``LoadImageFromFile`` + ``bgr_to_rgb=True``; depth: the PNG read unchanged, mean/std rescaled to
the stored unit when the dataset's ``scale`` is known).
"""
from __future__ import annotations

import json
import os.path as osp
import warnings
from typing import Optional, Tuple, Union

from mmengine.config import Config

from crossmodal.models.distill.distill_segmentor import model_config
from crossmodal.models.distill.export import _load, extract_prefixed_state_dict, write_plain_model

PREFIX = 'models.'


def crodino_model_config(cfg: Config, name: str) -> dict:
    """Stock model config of model ``name`` ('rgb' / 'depth') of a CroDiNoKD config."""
    mc = cfg.model
    if mc.get('type') != 'CroDiNoKD':
        raise ValueError(f'{getattr(cfg, "filename", "config")}: model.type is {mc.get("type")!r}, '
                         f'expected CroDiNoKD')
    models = mc.get('models') or {}
    if name not in models:
        raise ValueError(f'model {name!r} is not in this CroDiNoKD config (models: {list(models)})')
    return model_config(models[name], f'model "{name}"')


def crodino_state_dict(ckpt: Union[str, dict], name: str, where: Optional[str] = None) -> dict:
    """``models.<name>.*`` weights without the prefix (aux decoder and the other model dropped)."""
    return extract_prefixed_state_dict(ckpt, f'{PREFIX}{name}.',
                                       f'a CroDiNoKD checkpoint with a model named {name!r}', where)


def dataset_input_scale(cfg: Config, modality: str) -> Optional[float]:
    """``scale`` of ``modality`` in the meta.json of the config's test (else train) dataset, if found."""
    for key in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        ds = (cfg.get(key) or {}).get('dataset') or {}
        root = ds.get('data_root')
        if root and osp.isfile(osp.join(root, 'meta.json')):
            with open(osp.join(root, 'meta.json')) as f:
                meta = json.load(f)
            spec = (meta.get('modalities') or {}).get(modality) or {}
            return float(spec['scale']) if 'scale' in spec else None
    return None


def export_model(config: Union[str, Config], checkpoint: str, out_dir: str, modality: str = 'rgb',
                 name: Optional[str] = None, input_scale: Union[str, float, None] = 'auto'
                 ) -> Tuple[str, str]:
    """Write ``<out_dir>/<name>.py`` + ``.pth``: model ``modality`` of a CroDiNo-KD run, plain mmseg.

    Args:
        config: the CroDiNoKD config (path or Config).
        checkpoint: a checkpoint of it.
        out_dir: output folder.
        modality: model name in ``model.models`` ('rgb' or 'depth').
        name: file stem (default ``segformer_<modality>_from_crodino``).
        input_scale: 1-channel models only: stored value x scale = training unit; ``'auto'`` reads
            the dataset's meta.json (warning and None when not found: the exported model then expects
            the training unit, e.g. depth in metres as a float array).

    Returns:
        ``(config_path, checkpoint_path)``.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    model = crodino_model_config(cfg, modality)
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    ckpt = _load(checkpoint)
    state = crodino_state_dict(ckpt, modality, checkpoint)
    channels = int((model.get('backbone') or {}).get('in_channels', 3))
    if channels != 1:
        input_scale = None
    elif input_scale == 'auto':
        mods = ((cfg.model.get('model_modalities') or {}).get(modality) or (modality, ))
        input_scale = dataset_input_scale(cfg, mods[0])
        if input_scale is None:
            warnings.warn(f'export of {modality!r}: no stored-unit scale found (dataset meta.json not '
                          f'reachable or without "scale"); the exported model expects the training '
                          f'unit (pass a float array to inference_model) or use input_scale=...')
    meta = dict(ckpt.get('meta', {}) or {}) if isinstance(ckpt, dict) else {}
    exported_from = dict(config=str(getattr(cfg, 'filename', config)), checkpoint=checkpoint,
                         method='CroDiNoKD', model=modality)
    name = name or f'segformer_{modality}_from_crodino'
    cfg_path = osp.join(out_dir, name + '.py')
    ckpt_path = osp.join(out_dir, name + '.pth')
    write_plain_model(model, state, ckpt_path, cfg_path, meta.get('dataset_meta'), exported_from,
                      input_scale=input_scale)
    return cfg_path, ckpt_path
