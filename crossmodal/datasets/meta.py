"""Kept for existing imports: meta.json's schema and validation live
in :mod:`crossmodal.datasets.contract`."""

from .contract import REQUIRED_FIELDS, REQUIRED_MODALITY_FIELDS, DatasetMetaError, load_meta  # noqa: F401
