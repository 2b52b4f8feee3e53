#!/usr/bin/env bash
# Distributed training with torchrun and mmengine's launcher:
#   tools/dist_train.sh <config> <num_processes> [train.py options]
#   TRAIN_SCRIPT=train_stages.py tools/dist_train.sh <recipe> <num_processes> [train_stages.py options]
# (tools/dist_train_stages.sh is the second form). train_dataloader.batch_size is per process: the
# global batch is num_processes x batch_size; pass --auto-scale-lr to scale the LR to it.
# On CPU-only machines the processes use gloo (see crossmodal/utils/runner_setup.py).
set -euo pipefail
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PYTHON=${PYTHON:-python}
TRAIN_SCRIPT=${TRAIN_SCRIPT:-train.py}
DIR=$(cd "$(dirname "$0")" && pwd)
PYTHONPATH="$DIR/..:${PYTHONPATH:-}" exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" \
    "$DIR/$TRAIN_SCRIPT" "$CONFIG" --launcher pytorch "${@:3}"
