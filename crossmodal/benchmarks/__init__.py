"""Benchmarks run by ``tools/benchmark.py <name>``: each module exposes
``add_arguments(parser)`` and ``run(args) -> dict`` (printed as JSON). Never timed tests."""
