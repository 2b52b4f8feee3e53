"""Exportable parts of a model: the one extraction step of every export (pth and ONNX).

A *part* is a stock mmseg ``EncoderDecoder`` that lives inside a trained model: a distiller's
``student``, an RTFDNet stream (``rgb`` / ``x``), a CroDiNo-KD model (``rgb`` / ``depth``), or a
plain student, which is its own single part (``student``). Each model type names its parts with a
provider registered here by :func:`register_parts` (the method packages fill the registry when they
are imported; this module imports no method)::

    @register_parts('RTFDNet')
    def rtfdnet_parts(cfg) -> Dict[str, ExportPart]: ...   # first entry = the default part

An :class:`ExportPart` says which stock model config the part is (as trained) and how its weights
are named in the checkpoint (``rename``: checkpoint key prefix -> stock key prefix). Extraction
(:func:`part_state_dict`) keeps those weights, renames them and drops everything else; building
(:func:`build_part`) loads them strictly
(:func:`crossmodal.utils.checkpoint_kind.check_checkpoint_matches`).
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

__all__ = [
    'ExportError',
    'ExportPart',
    'register_parts',
    'model_parts',
    'select_part',
    'part_state_dict',
    'build_part',
    'dataset_input_scale',
    'PART_PROVIDERS',
]


class ExportError(ValueError):
    """The config / checkpoint / part cannot be exported as a stock mmseg model."""


@dataclass
class ExportPart:
    """One exportable stock model inside a trained model.

    Attributes:
        name: the part name (``student``, ``rgb``, ``x``, ``depth``, or a modality name).
        model_cfg: the stock ``EncoderDecoder`` config as trained (its ``SegDataPreProcessor`` as
            the part saw its input in training: crossmodal's loaders yield RGB).
        rename: checkpoint key prefix -> stock key prefix (``{'student.': ''}``; ``{'': ''}`` keeps
            every key); every other checkpoint key is dropped.
        method: the model type it comes from (provenance, messages).
        modality: the dataset modality it reads (stored-unit scale of 1-channel parts, ONNX check).
        file_stem: default output file stem.
        expects: what the checkpoint should be, for error messages.
    """

    name: str
    model_cfg: Dict[str, Any]
    rename: Dict[str, str]
    method: str
    modality: str = 'rgb'
    file_stem: str = 'student'
    expects: str = 'a checkpoint of this config'
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def in_channels(self) -> int:
        bb = self.model_cfg.get('backbone') or {}
        return int(bb.get('in_channels', 3)) if hasattr(bb, 'get') else 3


Provider = Callable[[Any], Dict[str, ExportPart]]
PART_PROVIDERS: Dict[str, Provider] = {}


def register_parts(*model_types: str) -> Callable[[Provider], Provider]:
    """Register ``fn(cfg) -> {part name: ExportPart}`` for configs whose ``model.type`` is one of
    ``model_types`` (or a registered subclass of one). The first part is the default."""

    def wrap(fn: Provider) -> Provider:
        for t in model_types:
            PART_PROVIDERS[t] = fn
        return fn

    return wrap


def _type_name(model_cfg: Any) -> str:
    t = model_cfg.get('type', '') if hasattr(model_cfg, 'get') else ''
    return t if isinstance(t, str) else getattr(t, '__name__', str(t))


def _provider(tname: str) -> Optional[Provider]:
    import crossmodal  # noqa: F401  (registries; the method packages register their parts)

    short = tname.split('.')[-1]
    if short in PART_PROVIDERS:
        return PART_PROVIDERS[short]
    from mmseg.registry import MODELS

    cls = MODELS.get(tname) if tname else None
    for klass in getattr(cls, '__mro__', ()):
        if klass.__name__ in PART_PROVIDERS:
            return PART_PROVIDERS[klass.__name__]
    return None


def plain_student_part(cfg: Any) -> ExportPart:
    """A plain student config: the model is its own part (every checkpoint key kept)."""
    model = copy.deepcopy(cfg.get('model'))
    if 'data_preprocessor' not in model and cfg.get('data_preprocessor') is not None:
        model['data_preprocessor'] = copy.deepcopy(cfg.get('data_preprocessor'))
    return ExportPart(
        'student', model, {'': ''}, _type_name(model), expects='a checkpoint of this student config'
    )


def model_parts(cfg: Any) -> Dict[str, ExportPart]:
    """``{part name: ExportPart}`` of the config's model (first = default part)."""
    model = cfg.get('model')
    if model is None:
        raise ExportError(f'{getattr(cfg, "filename", "config")}: the config has no "model" entry')
    provider = _provider(_type_name(model))
    return provider(cfg) if provider else {'student': plain_student_part(cfg)}


def select_part(
    cfg: Any, part: Optional[str] = None, student_prefix: Optional[str] = None
) -> ExportPart:
    """The part ``part`` (default: the model's default part) of ``cfg``.

    ``student_prefix`` (``tools/export.py --student-prefix``): the student part with its weights
    under that prefix: a distill config's ``model.student``, or the config's own model when it is a
    plain student config given with a distillation checkpoint.
    """
    parts = model_parts(cfg)
    if student_prefix:
        base = parts.get('student') or plain_student_part(cfg)
        return ExportPart(
            base.name,
            base.model_cfg,
            {student_prefix: ''},
            base.method,
            base.modality,
            base.file_stem,
            'a distillation checkpoint',
            base.extra,
        )
    if part is None:
        return next(iter(parts.values()))
    if part not in parts:
        raise ExportError(
            f'{_type_name(cfg.model)} has no part {part!r}: --part (--branch) must '
            f'be one of {list(parts)}'
        )
    return parts[part]


def _strip_module(sd: Dict[str, Any]) -> Dict[str, Any]:
    if sd and all(k.startswith('module.') for k in sd):
        return {k[len('module.') :]: v for k, v in sd.items()}
    return dict(sd)


def part_state_dict(
    state_dict: Dict[str, Any], part: ExportPart, where: str
) -> Tuple[Dict[str, Any], List[str]]:
    """The part's weights, renamed to the stock model's keys, and the dropped top-level key groups.

    Raises:
        ExportError: no checkpoint key under one of the part's prefixes (the message says what the
            checkpoint looks like).
    """
    from crossmodal.utils.checkpoint_kind import describe_checkpoint

    sd = _strip_module(state_dict)
    out, used = {}, set()
    for src, dst in part.rename.items():
        keys = [k for k in sd if k.startswith(src)]
        if not keys:
            groups = sorted({k.split('.')[0] for k in sd})
            raise ExportError(
                f'{where}: no key starts with {src!r} (top-level names: {groups}): '
                f'the checkpoint is {describe_checkpoint(sd)}, not '
                f'{part.expects}'
            )
        for k in keys:
            out[dst + k[len(src) :]] = sd[k]
        used.update(keys)
    dropped = sorted({k.split('.')[0] for k in sd if k not in used})
    return out, dropped


def build_part(
    part: ExportPart,
    state_dict: Optional[Dict[str, Any]],
    checkpoint: Optional[str],
    config: Optional[str],
    device: str = 'cpu',
):
    """Build the part's stock model (eval mode) and load ``state_dict`` strictly (keys and shapes
    must match: :class:`~crossmodal.utils.checkpoint_kind.CheckpointMismatchError` otherwise)."""
    import crossmodal  # noqa: F401  (compat layer, registries)
    from mmengine.config import ConfigDict
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    register_all_modules(init_default_scope=True)
    build_cfg = ConfigDict(copy.deepcopy(part.model_cfg))  # segmentors read test_cfg.mode
    build_cfg.pop('pretrained', None)
    if isinstance(build_cfg.get('backbone'), dict):  # no pretrained download: weights follow
        build_cfg['backbone']['init_cfg'] = None
    model = MODELS.build(build_cfg)
    if state_dict is not None:
        from crossmodal.utils.checkpoint_kind import check_checkpoint_matches

        check_checkpoint_matches(model, state_dict, checkpoint, config, tool='export')
        model.load_state_dict(state_dict, strict=True)
    return model.to(device).eval()


def dataset_input_scale(cfg: Any, modality: str) -> Tuple[bool, Optional[float]]:
    """``(found, scale)``: whether a dataset meta.json of the config (test, val, then train
    dataloader) was found, and ``scale`` of ``modality`` in it (stored value x scale = training
    unit; None: stored values are the training unit)."""
    for key in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        root = ((cfg.get(key) or {}).get('dataset') or {}).get('data_root')
        if root and os.path.isfile(os.path.join(root, 'meta.json')):
            with open(os.path.join(root, 'meta.json'), encoding='utf-8') as f:
                spec = (json.load(f).get('modalities') or {}).get(modality) or {}
            return True, float(spec['scale']) if 'scale' in spec else None
    return False, None
