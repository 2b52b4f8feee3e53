"""Distillation engine: ``DistillSegmentor`` (input routing, taps, connectors, registry losses),
the teacher container, the loss protocol, ``TeacherEvalHook`` and the student exporter.

The engine imports no method (``crossmodal.models.methods.*``); methods build on it.
"""

from .connectors import ConvConnector, LinearConnector
from .distill_segmentor import DistillSegmentor
from .hooks import TeacherEvalHook
from .protocol import DistillStep, LossInput, register_loss_input
from .routing import ModalityNorm, default_distill_preprocessor
from .taps import TapRecorder, parse_tap, resolve_module
from .teachers import (
    TeacherCheckpointError,
    TeacherSet,
    build_teacher,
    load_teacher_weights,
    model_config,
)
from . import export  # noqa: F401,E402  (registers the export parts)

__all__ = [
    'ConvConnector',
    'LinearConnector',
    'DistillSegmentor',
    'load_teacher_weights',
    'TeacherEvalHook',
    'ModalityNorm',
    'default_distill_preprocessor',
    'TapRecorder',
    'parse_tap',
    'resolve_module',
    'DistillStep',
    'LossInput',
    'register_loss_input',
    'TeacherCheckpointError',
    'TeacherSet',
    'build_teacher',
    'model_config',
]
