"""Export parts of a distiller: its ``student`` (users of mmrazor must extract the student by
hand; docs/deploy.md).

:func:`distiller_parts` registers the part with :mod:`crossmodal.deploy.parts`: the stock student
(``model.student``, a config path or an inline dict) with the ``student.*`` weights of the
checkpoint, prefix stripped; teachers, connectors and distillation losses (QSD modules, TAID state)
are dropped. Writing is :mod:`crossmodal.deploy.pth_export` (plain mmseg) or
:mod:`crossmodal.deploy.onnx_export`; ``tools/export.py <distill cfg> <ckpt>`` exports the student.
"""

from __future__ import annotations

from typing import Optional, Union

from mmengine.config import Config

from crossmodal.utils import checkpoints
from crossmodal.deploy.parts import ExportPart, part_state_dict, register_parts
from crossmodal.deploy.pth_export import export_part_pth, write_plain_model  # noqa: F401

STUDENT_PREFIX = 'student.'


_load = checkpoints.load


def extract_prefixed_state_dict(
    ckpt: Union[str, dict], prefix: str, what: str, where: Optional[str] = None
) -> dict:
    """``{key without prefix: tensor}`` of the weights under ``prefix`` of a checkpoint (path or
    loaded; ``where``: its name in messages). ``ExportError`` (a ValueError) when there are none."""
    from crossmodal.utils.checkpoint_kind import state_dict_of

    where = where or (ckpt if isinstance(ckpt, str) else 'the checkpoint')
    part = ExportPart('part', {}, {prefix: ''}, 'model', expects=what)
    return part_state_dict(state_dict_of(_load(ckpt), where), part, where)[0]


def extract_student_state_dict(distill_ckpt: Union[str, dict]) -> dict:
    """``{key without 'student.': tensor}`` from a distillation checkpoint (path or loaded dict)."""
    return extract_prefixed_state_dict(
        distill_ckpt, STUDENT_PREFIX, 'a DistillSegmentor checkpoint'
    )


def student_model_config(distill_cfg: Config) -> dict:
    """The stock student's model config referenced by a distillation config."""
    return distiller_parts(distill_cfg)['student'].model_cfg


@register_parts('DistillSegmentor')
def distiller_parts(cfg: Config) -> dict:
    """``{'student': ExportPart}`` of a ``DistillSegmentor`` (or subclass, e.g. MST) config."""
    from mmseg.registry import MODELS

    from .distill_segmentor import DistillSegmentor, model_config

    model = cfg.model
    cls = MODELS.get(model.get('type')) if model.get('type') else None
    if not (isinstance(cls, type) and issubclass(cls, DistillSegmentor)):
        raise ValueError(
            f'{getattr(cfg, "filename", "config")}: model.type is '
            f'{model.get("type")!r}, expected DistillSegmentor or a subclass'
        )
    student = model_config(model['student'], f'{getattr(cfg, "filename", "config")}: model.student')
    mods = tuple(model.get('student_modalities') or ('rgb',))
    return {
        'student': ExportPart(
            'student',
            student,
            {STUDENT_PREFIX: ''},
            cls.__name__,
            mods[0],
            'student',
            'a DistillSegmentor checkpoint',
        )
    }


def export_student(
    distill_config: Union[str, Config],
    distill_ckpt: str,
    out_ckpt: str,
    out_config: str,
    dataset_meta: Optional[dict] = None,
) -> dict:
    """Write the student of a distillation run as a plain mmseg checkpoint + config
    (:func:`crossmodal.deploy.pth_export.export_part_pth` with part ``student``)."""
    return export_part_pth(
        distill_config, distill_ckpt, 'student', out_ckpt, out_config, dataset_meta=dataset_meta
    )
