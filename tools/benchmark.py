#!/usr/bin/env python
"""Benchmarks (JSON on stdout): ``python tools/benchmark.py <name> [options]``.

Each subcommand lives in ``crossmodal/benchmarks/<name>.py`` and exposes ``add_arguments(parser)``
and ``run(args) -> dict``. Add a new one to ``SUBCOMMANDS``.
"""

import argparse
import importlib
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

SUBCOMMANDS = {
    'infer': 'crossmodal.benchmarks.infer',
    'kernels': 'crossmodal.benchmarks.kernels',
    'methods': 'crossmodal.benchmarks.methods',
    'train-step': 'crossmodal.benchmarks.train_step',
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='name', required=True)
    for name, module in SUBCOMMANDS.items():
        mod = importlib.import_module(module)
        p = sub.add_parser(name, help=(mod.__doc__ or '').strip().split('\n')[0])
        mod.add_arguments(p)
        p.set_defaults(_module=mod)
    args = parser.parse_args(argv)
    result = args._module.run(args)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
