"""Student extraction from a distillation checkpoint (frameworks.md A.1 complaint #3, methods.md §7).

* :func:`extract_student_state_dict`: keep the ``student.*`` weights of a :class:`DistillSegmentor`
  checkpoint, strip the prefix; teachers, connectors and distillation losses (QSD modules, TAID
  state) are dropped.
* :func:`export_student`: write that state dict as an mmseg checkpoint plus a plain mmseg config
  (the stock student model, ``LoadImageFromFile`` + ``PackSegInputs``) that
  ``mmseg.apis.init_model`` loads without crossmodal's models (``import crossmodal`` is only needed
  for the compat layer on mmcv-lite / torch >= 2.6). ``LoadImageFromFile`` reads BGR, so the exported
  pre-processor flips channels (``bgr_to_rgb`` toggled relative to training, where crossmodal's loader
  yields RGB): the exported model sees exactly the tensors the student saw in training.
"""
from __future__ import annotations

import copy
import os
import os.path as osp
from typing import Optional, Union

import torch
from mmengine.config import Config

STUDENT_PREFIX = 'student.'


def _load(ckpt: Union[str, dict]) -> dict:
    if isinstance(ckpt, str):
        from crossmodal.compat import load_checkpoint_file
        return load_checkpoint_file(ckpt)
    return ckpt


def extract_student_state_dict(distill_ckpt: Union[str, dict]) -> dict:
    """``{key without 'student.': tensor}`` from a distillation checkpoint (path or loaded dict).

    Raises:
        ValueError: the checkpoint holds no ``student.*`` weights (not a DistillSegmentor one).
    """
    ckpt = _load(distill_ckpt)
    sd = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(sd, dict):
        raise ValueError(f'{distill_ckpt if isinstance(distill_ckpt, str) else "checkpoint"}: '
                         f'no state_dict found')
    if sd and all(k.startswith('module.') for k in sd):
        sd = {k[len('module.'):]: v for k, v in sd.items()}
    out = {k[len(STUDENT_PREFIX):]: v for k, v in sd.items() if k.startswith(STUDENT_PREFIX)}
    if not out:
        where = distill_ckpt if isinstance(distill_ckpt, str) else 'the checkpoint'
        prefixes = sorted({k.split('.')[0] for k in sd})[:8]
        raise ValueError(f'{where} holds no "student.*" weights (top-level keys: {prefixes}); is it '
                         f'a DistillSegmentor checkpoint?')
    return out


def student_model_config(distill_cfg: Config) -> dict:
    """The stock student's model config referenced by a distillation config."""
    from mmseg.registry import MODELS

    from .distill_segmentor import DistillSegmentor, model_config
    model = distill_cfg.model
    cls = MODELS.get(model.get('type')) if model.get('type') else None
    if not (isinstance(cls, type) and issubclass(cls, DistillSegmentor)):
        raise ValueError(f'{distill_cfg.filename}: model.type is {model.get("type")!r}, expected '
                         f'DistillSegmentor or a subclass (e.g. MSTDistillSegmentor)')
    return model_config(model['student'], 'student')


def export_student(distill_config: Union[str, Config], distill_ckpt: str, out_ckpt: str,
                   out_config: str, dataset_meta: Optional[dict] = None) -> dict:
    """Write the student of a distillation run as a plain mmseg checkpoint + config.

    Args:
        distill_config: the distillation config (path or Config).
        distill_ckpt: a checkpoint of that config.
        out_ckpt: output ``.pth`` path (``{'state_dict', 'meta': {'dataset_meta', ...}}``).
        out_config: output ``.py`` config path.
        dataset_meta: classes/palette to store (default: the checkpoint's ``meta.dataset_meta``).

    Returns:
        ``dict(checkpoint=out_ckpt, config=out_config, state_dict_numel=...)`` (elements of all saved
        tensors, parameters and BN running statistics).
    """
    cfg = Config.fromfile(distill_config) if isinstance(distill_config, str) else distill_config
    model = student_model_config(cfg)
    ckpt = _load(distill_ckpt)
    state = extract_student_state_dict(ckpt)
    meta = dict(ckpt.get('meta', {}) or {}) if isinstance(ckpt, dict) else {}
    dmeta = dataset_meta or meta.get('dataset_meta')
    dp = dict(model.get('data_preprocessor') or {})
    if dp.get('type', 'SegDataPreProcessor') != 'SegDataPreProcessor':
        raise ValueError(f'the student uses {dp.get("type")}; export needs a stock SegDataPreProcessor')
    # trained on RGB from crossmodal's loader; LoadImageFromFile yields BGR -> toggle the flip
    trained_flip = bool(dp.get('bgr_to_rgb', False) or dp.get('rgb_to_bgr', False))
    dp.pop('rgb_to_bgr', None)
    dp['bgr_to_rgb'] = not trained_flip
    model['data_preprocessor'] = dp
    model.pop('pretrained', None)
    bb = model.get('backbone', {})
    if isinstance(bb, dict):
        bb.pop('init_cfg', None)
    plain = dict(
        default_scope='mmseg',
        model=model,
        test_pipeline=[dict(type='LoadImageFromFile'), dict(type='PackSegInputs')],
        exported_from=dict(config=getattr(cfg, 'filename', None),
                           checkpoint=distill_ckpt if isinstance(distill_ckpt, str) else None),
    )
    if dmeta:
        plain['dataset_meta'] = dict(classes=list(dmeta.get('classes', [])),
                                     palette=[list(p) for p in dmeta.get('palette', [])])
    for path in (out_ckpt, out_config):
        d = osp.dirname(osp.abspath(path))
        os.makedirs(d, exist_ok=True)
    Config(copy.deepcopy(plain)).dump(out_config)
    out_meta = {'exported_from': plain['exported_from'], 'mmseg_config': osp.basename(out_config)}
    if dmeta:
        out_meta['dataset_meta'] = plain['dataset_meta']
    torch.save({'state_dict': state, 'meta': out_meta}, out_ckpt)
    return dict(checkpoint=out_ckpt, config=out_config,
                state_dict_numel=int(sum(v.numel() for k, v in state.items()
                                         if torch.is_tensor(v) and 'num_batches_tracked' not in k)))
