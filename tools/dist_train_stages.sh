#!/usr/bin/env bash
# Distributed multi-stage recipe (GKD, MST-Distill) with torchrun and mmengine's launcher:
#   tools/dist_train_stages.sh <recipe> <num_processes> [train_stages.py options]
# Same environment variables as tools/dist_train.sh (NNODES, NODE_RANK, PORT, MASTER_ADDR, PYTHON).
set -euo pipefail
DIR=$(cd "$(dirname "$0")" && pwd)
TRAIN_SCRIPT=train_stages.py exec bash "$DIR/dist_train.sh" "$@"
