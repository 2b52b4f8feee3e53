"""Export of a model's parts (:mod:`.parts`): ONNX (+ JSON sidecar) and plain-mmseg checkpoints.

The torch-free runtime that consumes the ONNX export is the separate package
:mod:`crossmodal_runtime`.
"""

from .onnx_export import ShapeAgnosticMHA, StudentGraph, build_spec, export_onnx, make_exportable
from .parts import ExportError, ExportPart, model_parts, register_parts, select_part
from .pth_export import export_part_pth, export_pth, plain_mmseg_config, write_plain_model
from .student import (
    NotAStudentError,
    StudentInfo,
    check_state_dict,
    load_part,
    load_student,
    strip_student_state_dict,
)

__all__ = [
    'NotAStudentError',
    'StudentInfo',
    'load_student',
    'check_state_dict',
    'strip_student_state_dict',
    'StudentGraph',
    'ShapeAgnosticMHA',
    'make_exportable',
    'build_spec',
    'export_onnx',
    'export_pth',
    'plain_mmseg_config',
    'write_plain_model',
    'export_part_pth',
    'load_part',
    'ExportError',
    'ExportPart',
    'model_parts',
    'register_parts',
    'select_part',
]
