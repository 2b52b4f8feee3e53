"""Distillation methods (one subpackage each)."""
from . import gkd  # noqa: F401
