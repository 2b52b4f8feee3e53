"""FSKD: LiDAR-to-RGBI forest-structure distillation (arXiv 2604.01766) — a reconstruction (no code
released)."""

from .distiller import FSKDDistiller, student_state_dict
from .teacher import FSKDTeacher, ProfileEncoder

__all__ = ['FSKDDistiller', 'FSKDTeacher', 'ProfileEncoder', 'student_state_dict']
