"""Helpers for checking configs and tools without real weights or data (used by
``tools/check_config.py --fake-weights`` and the test suite)."""
