"""Distillation methods (one subpackage each)."""

from . import crodino, fskd, gkd, mst, rtfdnet  # noqa: F401
