"""Distillation methods (one subpackage each)."""
from . import gkd, rtfdnet  # noqa: F401
