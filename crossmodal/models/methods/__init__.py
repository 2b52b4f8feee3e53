"""Distillation methods (one subpackage each)."""
from . import crodino, fskd, gkd, rtfdnet  # noqa: F401
