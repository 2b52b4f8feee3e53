"""Load a single-modality student (config + checkpoint) for export, refusing teachers.

A student is a stock mmseg ``EncoderDecoder`` (MixVisionTransformer + SegformerHead) that sees one
RGB tensor. This module

- reads the config (path, :class:`mmengine.Config` or dict) and picks the student's model config
  (``cfg.model``, or ``cfg.model.student`` of a distillation config when ``student_prefix`` is
  given: a config path, as in configs/distill/, or an inline dict);
- loads the checkpoint with :func:`crossmodal.compat.load_checkpoint_file` (``weights_only=True``);
- recognises a multimodal teacher (``MultiModalEncoderDecoder`` config, or state-dict keys under
  ``backbones.<modality>.`` for two or more modalities), a distillation checkpoint
  (``student.`` + ``teachers.`` keys), RTFDNet and CroDiNo-KD checkpoints, and explains what to do
  instead (:mod:`crossmodal.utils.checkpoint_kind`); any other mismatch between the checkpoint and
  the student is a :class:`~crossmodal.utils.checkpoint_kind.CheckpointMismatchError` (strict
  loading);
- strips a distillation checkpoint to the student (``student_prefix='student.'``: keep and strip the
  prefixed keys, drop teacher/connector keys);
- collects what the exported model must carry: class names, palette, mean/std, the channel order the
  network was trained on, the training input size.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union

__all__ = [
    'NotAStudentError',
    'StudentInfo',
    'load_config',
    'student_model_cfg',
    'check_state_dict',
    'strip_student_state_dict',
    'extract_state_dict',
    'load_student',
    'load_part',
    'default_palette',
]

HOW_TO_GET_A_STUDENT = (
    'Only single-modality students export (a stock mmseg EncoderDecoder that takes one RGB image). '
    'To get one: distil this teacher into an RGB student with a config from configs/distill/ '
    '(`tools/train.py configs/distill/<method>/...`) and export the distillation checkpoint with '
    '`--student-prefix student.`, or train an RGB-only student with a config from '
    'configs/students/.'
)


class NotAStudentError(ValueError):
    """The config/checkpoint is a multimodal teacher or a distiller, not an exportable student."""


@dataclass
class StudentInfo:
    """What an exported student must carry besides its weights.

    Attributes:
        classes / palette: class names and RGB colours, index = train id.
        mean / std: per-channel normalisation in 0-255 units, in the network's channel order.
        network_channel_order: 'RGB' or 'BGR': the order the network was trained on.
        size: (H, W) of ``data_preprocessor.size`` if the config sets one, else None.
        size_divisor: ``data_preprocessor.size_divisor`` or 32.
        num_classes: K.
        meta: provenance (config path, checkpoint path, dropped keys, ...).
        dataset_meta: the checkpoint's ``meta.dataset_meta`` as stored (None if it has none).
    """

    classes: List[str]
    palette: List[List[int]]
    mean: List[float]
    std: List[float]
    network_channel_order: str
    size: Optional[Tuple[int, int]]
    size_divisor: int
    num_classes: int
    meta: Dict[str, Any] = field(default_factory=dict)
    dataset_meta: Optional[Dict[str, Any]] = None


def load_config(config: Union[str, Any]):
    """A path, :class:`mmengine.Config` or dict -> :class:`mmengine.Config`."""
    from mmengine.config import Config

    if isinstance(config, Config):
        return config
    if isinstance(config, dict):
        return Config(config)
    if not os.path.isfile(str(config)):
        raise FileNotFoundError(f'config not found: {config}')
    return Config.fromfile(str(config))


def _type_name(model_cfg: Any) -> str:
    t = model_cfg.get('type', '') if hasattr(model_cfg, 'get') else ''
    return t if isinstance(t, str) else getattr(t, '__name__', str(t))


def student_model_cfg(cfg: Any, where: str, student_prefix: Optional[str] = None) -> Any:
    """The student's model config from a full config, or :class:`NotAStudentError`."""
    model_cfg = cfg.get('model')
    if model_cfg is None:
        raise NotAStudentError(f'{where}: the config has no "model" entry')
    tname = _type_name(model_cfg)
    if student_prefix and 'student' in model_cfg:
        # a distill config names its student by config path (model.student = 'configs/...py')
        # or inline (a dict); model_config resolves both the way DistillSegmentor does
        from crossmodal.models.distill.distill_segmentor import model_config

        model_cfg = model_config(model_cfg['student'], f'{where}: model.student')
        tname = _type_name(model_cfg)
    elif 'student' in model_cfg and 'teacher' in model_cfg or 'Distill' in tname:
        raise NotAStudentError(
            f'{where}: model type {tname!r} is a distiller (teacher + student). Export its student '
            f'with `--student-prefix student.` (Python: student_prefix="student.").'
        )
    multi = len(model_cfg.get('modalities') or ()) > 1
    if 'MultiModal' in tname or 'backbones' in model_cfg or multi:
        raise NotAStudentError(
            f'{where}: model type {tname!r} is a multimodal teacher. {HOW_TO_GET_A_STUDENT}'
        )
    if tname.split('.')[-1] != 'EncoderDecoder':
        raise NotAStudentError(
            f'{where}: model type {tname!r} is not a stock mmseg EncoderDecoder. '
            f'{HOW_TO_GET_A_STUDENT}'
        )
    dp = model_cfg.get('data_preprocessor') or cfg.get('data_preprocessor')
    if dp is None or 'mean' not in dp or 'std' not in dp:
        raise NotAStudentError(
            f'{where}: the student has no data_preprocessor with mean/std; '
            f'the exported model needs them'
        )
    if len(dp['mean']) != 3 or len(dp['std']) != 3:
        raise NotAStudentError(
            f'{where}: the student\'s data_preprocessor has {len(dp["mean"])} mean values; an '
            f'exportable student takes 3-channel RGB. {HOW_TO_GET_A_STUDENT}'
        )
    in_ch = model_cfg.get('backbone', {}).get('in_channels', 3)
    if in_ch != 3:
        raise NotAStudentError(
            f'{where}: the backbone takes {in_ch} input channels; an '
            f'exportable student takes 3 (RGB). {HOW_TO_GET_A_STUDENT}'
        )
    return model_cfg


_MODALITY_BACKBONE = re.compile(r'^(?:.*\.)?backbones\.([A-Za-z0-9_]+)\.')


def check_state_dict(state_dict: Dict[str, Any], where: str) -> None:
    """Raise :class:`NotAStudentError` for teacher, distillation, RTFDNet or CroDiNo-KD state dicts
    (the message says what the checkpoint looks like and what to use instead)."""
    from crossmodal.utils.checkpoint_kind import checkpoint_kind, describe_checkpoint, suggestion

    kind = checkpoint_kind(state_dict)
    if kind == 'distiller':
        raise NotAStudentError(
            f'{where}: the checkpoint is a distillation checkpoint: '
            f'{describe_checkpoint(state_dict)}. {suggestion(kind, "export")}'
        )
    if kind in ('rtfdnet', 'crodino'):
        raise NotAStudentError(
            f'{where}: the checkpoint is {describe_checkpoint(state_dict)}, not a single-modality '
            f'student. {suggestion(kind, "export")}'
        )
    mods = sorted({m.group(1) for k in state_dict for m in [_MODALITY_BACKBONE.match(k)] if m})
    if len(mods) >= 2 or (mods and not any(k.startswith('backbone.') for k in state_dict)):
        raise NotAStudentError(
            f'{where}: the checkpoint holds a multimodal teacher (backbones for {mods}). '
            f'{HOW_TO_GET_A_STUDENT}'
        )


def strip_student_state_dict(
    state_dict: Dict[str, Any], prefix: str, where: str
) -> Tuple[Dict[str, Any], List[str]]:
    """Keep keys starting with ``prefix`` (prefix removed); return (stripped, dropped key groups).

    Every other key (teacher, connectors, projectors) is dropped; the top-level names of the
    dropped keys are returned for the report.
    """
    from .parts import ExportError, ExportPart, part_state_dict

    try:
        return part_state_dict(
            state_dict,
            ExportPart('student', {}, {prefix: ''}, 'student', expects='a distillation checkpoint'),
            where,
        )
    except ExportError as e:
        raise NotAStudentError(f'{e}; drop --student-prefix for a plain student') from None


def extract_state_dict(ckpt: Any, where: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """mmengine checkpoint dict (or bare state dict) -> (state_dict, meta)."""
    from crossmodal.utils.checkpoints import state_dict_and_meta

    return state_dict_and_meta(ckpt, where)


def default_palette(n: int) -> List[List[int]]:
    """A fixed, deterministic palette of ``n`` distinct-ish RGB colours (golden-angle hues)."""
    import colorsys

    out = []
    for i in range(n):
        r, g, b = colorsys.hsv_to_rgb((i * 0.618033988749895) % 1.0, 0.65, 0.95)
        out.append([int(r * 255), int(g * 255), int(b * 255)])
    return out


def _dataset_meta(
    cfg: Any, ckpt_meta: Dict[str, Any], num_classes: int, where: str
) -> Tuple[List[str], List[List[int]], str]:
    candidates = [('checkpoint meta.dataset_meta', ckpt_meta.get('dataset_meta'))]
    for key in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        ds = (cfg.get(key) or {}).get('dataset') or {}
        candidates.append((f'config {key}.dataset.metainfo', ds.get('metainfo')))
    candidates.append(('config metainfo', cfg.get('metainfo')))
    for key in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        root = ((cfg.get(key) or {}).get('dataset') or {}).get('data_root')
        if root and os.path.isfile(os.path.join(root, 'meta.json')):  # data contract meta.json
            import json

            with open(os.path.join(root, 'meta.json'), encoding='utf-8') as f:
                candidates.append((f'{root}/meta.json', json.load(f)))
    for source, meta in candidates:
        if meta and meta.get('classes'):
            classes = [str(c) for c in meta['classes']]
            if len(classes) != num_classes:
                raise ValueError(
                    f'{where}: {source} lists {len(classes)} classes but the '
                    f'decode head predicts {num_classes}'
                )
            palette = meta.get('palette') or default_palette(num_classes)
            return classes, [[int(v) for v in c] for c in palette], source
    return (
        [f'class_{i}' for i in range(num_classes)],
        default_palette(num_classes),
        'none found: generic names and a generated palette',
    )


def load_student(
    config: Union[str, Any],
    checkpoint: Optional[str] = None,
    student_prefix: Optional[str] = None,
    device: str = 'cpu',
):
    """Build the student in eval mode and load its weights.

    Args:
        config: config path / Config / dict (a student config, or a distillation config when
            ``student_prefix`` is set).
        checkpoint: mmengine checkpoint (``{'meta', 'state_dict'}``) or bare state dict; None keeps
            the random initialisation (benchmarks).
        student_prefix: e.g. ``'student.'`` for a distillation checkpoint.

    Returns:
        (model, cfg, model_cfg, info): the ``EncoderDecoder``, the full config, the student's model
        config and a :class:`StudentInfo`.
    """
    where_cfg = config if isinstance(config, str) else '<config>'
    cfg = load_config(config)
    student_model_cfg(cfg, where_cfg, student_prefix)  # refuses teachers / distillers / non-RGB
    model, cfg, part, info = load_part(
        cfg, checkpoint, None, student_prefix, device, where_cfg=where_cfg
    )
    return model, cfg, part.model_cfg, info


def load_part(
    config: Union[str, Any],
    checkpoint: Optional[str] = None,
    part: Optional[str] = None,
    student_prefix: Optional[str] = None,
    device: str = 'cpu',
    where_cfg: Optional[str] = None,
    head_alpha: Optional[float] = None,
):
    """Build part ``part`` (:mod:`crossmodal.deploy.parts`; default: the model's default part) of
    ``config``'s model in eval mode and load its weights from ``checkpoint`` strictly.

    A plain student part (or ``student_prefix``) also refuses teacher, distiller, RTFDNet and
    CroDiNo-KD checkpoints with :class:`NotAStudentError` (what the checkpoint is, what to use).

    A DHO student (``DualHeadSegformerHead``) is returned folded into a stock ``SegformerHead``
    (:mod:`crossmodal.deploy.head_fold`; the part's ``model_cfg`` is the stock one) with the
    config's alpha, or ``head_alpha`` when given (an ``ExportError`` for any other head);
    ``info.meta`` then records ``folded_head`` and ``dho_alpha``.

    Returns:
        (model, cfg, part, info): the stock ``EncoderDecoder``, the full config, the
        :class:`~crossmodal.deploy.parts.ExportPart` and a :class:`StudentInfo`.
    """
    from crossmodal.compat import load_checkpoint_file

    from .parts import build_part, part_state_dict, select_part
    from .pth_export import network_channel_order

    where_cfg = where_cfg or (config if isinstance(config, str) else '<config>')
    cfg = load_config(config)
    p = select_part(cfg, part, student_prefix)
    meta: Dict[str, Any] = {
        'config': where_cfg if where_cfg != '<config>' else None,
        'checkpoint': checkpoint,
    }
    state_dict, ckpt_meta = None, {}
    if checkpoint is not None:
        state_dict, ckpt_meta = extract_state_dict(load_checkpoint_file(checkpoint), checkpoint)
        from crossmodal.utils.checkpoints import strip_module_prefix

        state_dict = strip_module_prefix(state_dict)  # DDP
        if student_prefix:
            state_dict, dropped = strip_student_state_dict(state_dict, student_prefix, checkpoint)
        else:
            state_dict, dropped = part_state_dict(state_dict, p, checkpoint)
        meta['dropped_key_groups'] = dropped
        if student_prefix or p.rename == {'': ''}:
            check_state_dict(state_dict, checkpoint)
    model = build_part(p, state_dict, checkpoint, where_cfg, device)
    from .head_fold import fold_dual_head

    model, p, alpha = fold_dual_head(model, p, head_alpha, checkpoint, where_cfg, device)
    if alpha is not None:
        meta.update(folded_head='DualHeadSegformerHead', dho_alpha=alpha)
    dp = p.model_cfg.get('data_preprocessor') or {}
    num_classes = int(model.decode_head.num_classes)
    classes, palette, source = _dataset_meta(cfg, ckpt_meta, num_classes, where_cfg)
    meta['class_source'] = source
    size = dp.get('size')
    ds_meta = ckpt_meta.get('dataset_meta')
    info = StudentInfo(
        classes=classes,
        palette=palette,
        mean=[float(v) for v in dp.get('mean') or ()],
        std=[float(v) for v in dp.get('std') or ()],
        network_channel_order=network_channel_order(cfg, dp),
        size=tuple(int(v) for v in size) if size else None,
        size_divisor=int(dp.get('size_divisor') or 32),
        num_classes=num_classes,
        meta=meta,
        dataset_meta=ds_meta if isinstance(ds_meta, dict) and ds_meta.get('classes') else None,
    )
    return model, cfg, p, info
