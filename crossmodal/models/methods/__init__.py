"""Distillation methods (one subpackage each)."""
from . import fskd, gkd, mst, rtfdnet  # noqa: F401
