"""Student extraction from a distillation checkpoint (frameworks.md A.1 complaint #3, methods.md §7).

* :func:`extract_student_state_dict`: keep the ``student.*`` weights of a :class:`DistillSegmentor`
  checkpoint, strip the prefix; teachers, connectors and distillation losses (QSD modules, TAID
  state) are dropped.
* :func:`write_plain_model`: write a stock model's config + weights as plain mmseg files (shared with
  the CroDiNo-KD exporter).
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

from crossmodal.utils import checkpoints

STUDENT_PREFIX = 'student.'


_load = checkpoints.load


def extract_prefixed_state_dict(ckpt: Union[str, dict], prefix: str, what: str,
                                where: Optional[str] = None) -> dict:
    """``{key without prefix: tensor}`` of the weights under ``prefix`` (e.g. ``'student.'``).

    ``ckpt`` is a path or a loaded checkpoint (``where``: its name in error messages); a DDP
    ``module.`` prefix is removed first.

    Raises:
        ValueError: no state dict, or no ``<prefix>*`` weights (``what`` names the expected
            checkpoint kind in the message).
    """
    where = where or (ckpt if isinstance(ckpt, str) else 'the checkpoint')
    loaded = checkpoints.load(ckpt)
    if not isinstance(loaded, dict) or not isinstance(loaded.get('state_dict', loaded), dict):
        raise ValueError(f'{where}: no state_dict found')
    sd = checkpoints.state_dict_of(loaded, where)
    out = checkpoints.select_prefix(sd, prefix)
    if not out:
        from crossmodal.utils.checkpoint_kind import describe_checkpoint
        prefixes = sorted({'.'.join(k.split('.')[:2]) for k in sd})[:8]
        raise ValueError(f'{where} holds no "{prefix}*" weights (keys start with {prefixes}); is it '
                         f'{what}? It looks like {describe_checkpoint(sd)}.')
    return out


def extract_student_state_dict(distill_ckpt: Union[str, dict]) -> dict:
    """``{key without 'student.': tensor}`` from a distillation checkpoint (path or loaded dict).

    Raises:
        ValueError: the checkpoint holds no ``student.*`` weights (not a DistillSegmentor one).
    """
    return extract_prefixed_state_dict(distill_ckpt, STUDENT_PREFIX, 'a DistillSegmentor checkpoint')


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


def _plain_preprocessor_and_loader(model: dict, input_scale: Optional[float] = None):
    """Pre-processor + image loader of the plain-mmseg config of a stock model trained in crossmodal.

    3-channel (RGB) model: ``LoadImageFromFile`` reads BGR, so the channel flip is toggled relative
    to training (crossmodal's loader yields RGB). 1-channel model (depth, thermal): the file is read
    unchanged as float32 and, when ``input_scale`` is given (the dataset's ``scale``: stored value x
    scale = the unit the model was trained on, e.g. 0.001 for depth PNGs in mm -> metres), mean/std
    are divided by it so the stored file gives exactly the training input; without it the model
    expects the training unit (pass a float array to ``inference_model``).
    """
    dp = dict(model.get('data_preprocessor') or {})
    if dp.get('type', 'SegDataPreProcessor') != 'SegDataPreProcessor':
        raise ValueError(f'the model uses {dp.get("type")}; export needs a stock SegDataPreProcessor')
    bb = model.get('backbone', {})
    channels = int(bb.get('in_channels', 3)) if isinstance(bb, dict) else 3
    if channels == 3:
        trained_flip = bool(dp.get('bgr_to_rgb', False) or dp.get('rgb_to_bgr', False))
        dp.pop('rgb_to_bgr', None)
        dp['bgr_to_rgb'] = not trained_flip
        return dp, dict(type='LoadImageFromFile')
    if channels != 1:
        raise ValueError(f'the model takes {channels} input channels; plain mmseg image loading gives 1 or 3')
    if dp.get('bgr_to_rgb') or dp.get('rgb_to_bgr'):
        raise ValueError('a 1-channel model cannot flip channels (bgr_to_rgb/rgb_to_bgr set)')
    if input_scale is not None:
        if not input_scale > 0:
            raise ValueError(f'input_scale must be > 0, got {input_scale}')
        if dp.get('mean') is not None:
            dp['mean'] = [float(v) / input_scale for v in dp['mean']]
            dp['std'] = [float(v) / input_scale for v in dp['std']]
    return dp, dict(type='LoadImageFromFile', color_type='unchanged', imdecode_backend='cv2',
                    to_float32=True)


def write_plain_model(model_cfg: dict, state: dict, out_ckpt: str, out_config: str,
                      dataset_meta: Optional[dict] = None, exported_from: Optional[dict] = None,
                      input_scale: Optional[float] = None) -> dict:
    """Write a stock mmseg model (config + weights) that ``mmseg.apis.init_model`` loads.

    Shared by :func:`export_student` and the CroDiNo-KD exporter. The weights are checked by building
    the stock model and loading them with ``strict=True`` (``ValueError`` listing the keys otherwise).

    Args:
        model_cfg: the stock model's config as trained (``EncoderDecoder`` + ``SegDataPreProcessor``).
        state: its state dict (no prefix).
        out_ckpt, out_config: output ``.pth`` / ``.py`` paths.
        dataset_meta: classes/palette stored in both files.
        exported_from: provenance dict stored in both files.
        input_scale: 1-channel models only, see :func:`_plain_preprocessor_and_loader`.

    Returns:
        ``dict(checkpoint=out_ckpt, config=out_config, state_dict_numel=...)`` (elements of all saved
        tensors, parameters and BN running statistics).
    """
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS
    model = copy.deepcopy(dict(model_cfg))
    dp, load = _plain_preprocessor_and_loader(model, input_scale)
    model['data_preprocessor'] = dp
    model.pop('pretrained', None)
    bb = model.get('backbone', {})
    if isinstance(bb, dict):
        bb.pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope('mmseg'):
        built = MODELS.build(copy.deepcopy(model))
    own = built.state_dict()
    missing = sorted(k for k in own if k not in state)
    unexpected = sorted(k for k in state if k not in own)
    if missing or unexpected:
        raise ValueError(f'the exported weights do not match the stock model: missing {missing[:8]}, '
                         f'unexpected {unexpected[:8]}')
    built.load_state_dict(state, strict=True)
    plain = dict(default_scope='mmseg', model=model,
                 test_pipeline=[load, dict(type='PackSegInputs')],
                 exported_from=dict(exported_from or {}))
    if input_scale is not None:
        plain['exported_from']['input_scale'] = float(input_scale)
    if dataset_meta:
        plain['dataset_meta'] = dict(classes=list(dataset_meta.get('classes', [])),
                                     palette=[list(p) for p in dataset_meta.get('palette', [])])
    for path in (out_ckpt, out_config):
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    Config(copy.deepcopy(plain)).dump(out_config)
    out_meta = {'exported_from': plain['exported_from'], 'mmseg_config': osp.basename(out_config)}
    if dataset_meta:
        out_meta['dataset_meta'] = plain['dataset_meta']
    torch.save({'state_dict': state, 'meta': out_meta}, out_ckpt)
    return dict(checkpoint=out_ckpt, config=out_config,
                state_dict_numel=int(sum(v.numel() for k, v in state.items()
                                         if torch.is_tensor(v) and 'num_batches_tracked' not in k)))


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
        see :func:`write_plain_model`.
    """
    cfg = Config.fromfile(distill_config) if isinstance(distill_config, str) else distill_config
    model = student_model_config(cfg)
    ckpt = _load(distill_ckpt)
    state = extract_student_state_dict(ckpt)
    meta = dict(ckpt.get('meta', {}) or {}) if isinstance(ckpt, dict) else {}
    dmeta = dataset_meta or meta.get('dataset_meta')
    exported_from = dict(config=getattr(cfg, 'filename', None),
                         checkpoint=distill_ckpt if isinstance(distill_ckpt, str) else None)
    return write_plain_model(model, state, out_ckpt, out_config, dmeta, exported_from)
