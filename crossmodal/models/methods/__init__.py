"""Distillation methods (one subpackage each)."""
from . import fskd, gkd, rtfdnet  # noqa: F401
