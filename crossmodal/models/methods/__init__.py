"""Distillation methods (one subpackage each)."""
from . import gkd  # noqa: F401
from . import fskd  # noqa: F401
