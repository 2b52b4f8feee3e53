"""Offline distillation: a teacher's sparse outputs cached once, students trained without it.

``tools/cache_teacher.py`` writes the cache (:mod:`.writer`), :class:`TeacherCache` reads it
(:mod:`.store`), :mod:`.manifest` says what it was made from and refuses a stale or foreign one;
the training side is ``DistillSegmentor(teacher_cache=...)`` with the ``LoadTeacherCache``
transform (docs/teacher_cache.md).
"""

from .manifest import TeacherCacheError, TeacherCacheMismatch
from .store import TeacherCache

__all__ = ['TeacherCache', 'TeacherCacheError', 'TeacherCacheMismatch']
