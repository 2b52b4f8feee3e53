"""crossmodal: cross-modal perception distillation on MMEngine / mmsegmentation.

Importing this package first applies :mod:`crossmodal.compat` (mmcv-lite ops stand-in, safe
checkpoint loading), then registers crossmodal's datasets, transforms, models, losses, metrics
and hooks into mmsegmentation's registries, so configs only need
``custom_imports = dict(imports=['crossmodal'], allow_failed_imports=False)``.
"""

from . import compat  # noqa: F401  (must run before mmseg is imported)

__version__ = '0.1.0'


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register mmseg's and crossmodal's modules and set the default scope to ``mmseg``."""
    from mmseg.utils import register_all_modules as _mmseg_register

    _mmseg_register(init_default_scope=init_default_scope)


from . import datasets, engine, evaluation, models  # noqa: F401,E402
