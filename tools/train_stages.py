#!/usr/bin/env python
"""Run a multi-stage training recipe (e.g. GKD's two stages) with one command.

    python tools/train_stages.py configs/distill/gkd/gkd_<...>.py [--work-dir DIR]
                                 [--stages stage2] [--amp] [--auto-scale-lr]
                                 [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]
    tools/dist_train_stages.sh <recipe> <num_processes> [train_stages.py options]

The recipe format, the stage hand-over (``load_from``, ``load_mode``), the distributed
bookkeeping (rank 0 resolves and writes, then broadcasts) and the summary are documented and
implemented in :mod:`crossmodal.apis.train_stages`; this file is its command line.
"""

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from crossmodal.apis.train_stages import (
    last_checkpoint,  # noqa: E402,F401
    run_recipe,
)

# re-exported: tests and scripts import the recipe helpers from the tool
from crossmodal.apis.train_stages import (  # noqa: E402,F401
    check_all_weights,
    resolve_load_from,
    resolve_stage_config,
    stage_config,  # noqa: F401
    student_init_checkpoint,
    write_summary,  # noqa: F401
)
from crossmodal.utils.runner_setup import add_train_args, parse_runner_args  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Run the stages of a multi-stage recipe in order')
    p.add_argument('config', help='recipe config with `stages`')
    p.add_argument('--work-dir', help='root work dir (default work_dirs/<recipe name>)')
    p.add_argument('--stages', nargs='+', help='names of the stages to run (default: all)')
    # --amp, --auto-scale-lr, --cfg-options, --launcher: as tools/train.py, for every stage
    add_train_args(p)
    return parse_runner_args(p, argv)


def main(argv=None):
    return run_recipe(parse_args(argv))


if __name__ == '__main__':
    main()
