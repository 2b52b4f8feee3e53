#!/usr/bin/env bash
# One prepared GPU check (a short GPU lease: one command, about 8 minutes at most): environment,
# Triton kernel tests + kernels benchmark, real-config training throughput (fp32 / AMP), a 200-iteration
# AMP smoke run through the Runner, and student inference (eager / torch.compile / ONNX Runtime).
# Prints one JSON object on stdout (logs go to stderr); see docs/benchmarks.md "GPU check" and
# crossmodal/benchmarks/gpu_check.py (parts, time caps, cost estimates).
# Usage: bash tools/gpu_check.sh [--dry-run] [--out FILE] [--parts environment kernels ...]
#   --dry-run: every part at tiny size on the CPU (no GPU needed; the same JSON keys).
# Exit status: 0 when no part recorded an error, 1 otherwise (the JSON is printed either way).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && PY=.venv/bin/python
exec "$PY" -m crossmodal.benchmarks.gpu_check "$@"
