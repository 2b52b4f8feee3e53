"""Distillation engine: ``DistillSegmentor`` (input routing, taps, connectors, registry losses),
``TeacherEvalHook`` and the student exporter."""
from .connectors import ConvConnector, LinearConnector, QSDConnector
from .distill_segmentor import DistillSegmentor, load_teacher_weights
from .hooks import TeacherEvalHook
from .routing import ModalityNorm, default_distill_preprocessor
from .taps import TapRecorder, parse_tap, resolve_module
from . import export  # noqa: F401,E402  (registers the export parts)

__all__ = ['ConvConnector', 'LinearConnector', 'QSDConnector', 'DistillSegmentor',
           'load_teacher_weights', 'TeacherEvalHook', 'ModalityNorm',
           'default_distill_preprocessor', 'TapRecorder', 'parse_tap', 'resolve_module']
