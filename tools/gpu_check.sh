#!/usr/bin/env bash
# One prepared GPU check (a short GPU lease: one command, about 8 minutes at most): environment,
# Triton kernel tests + kernels benchmark, real-config training throughput (fp32 / AMP), a 200-iteration
# AMP smoke run through the Runner, and student inference (eager / torch.compile / ONNX Runtime).
# Prints one JSON object on stdout (logs go to stderr); see docs/benchmarks.md "GPU check" and
# crossmodal/benchmarks/gpu_check.py (parts, time caps, cost estimates).
# Usage: bash tools/gpu_check.sh [--wheels DIR] [--dry-run] [--out FILE] [--parts environment kernels ...]
#   --dry-run: every part at tiny size on the CPU (no GPU needed; the same JSON keys).
#   --wheels DIR: first `pip install --no-index --no-deps --target $GPU_CHECK_SITE (default
#     /tmp/site) DIR/*.whl` and put that folder and the repo root on PYTHONPATH (the device machine,
#     with the wheels of tools/gpu_wheels.sh carried in .whl/). Same as doing it by hand before.
# Interpreter: $PYTHON if set, else .venv/bin/python if present, else python3 (the device machine's
# Python with torch; it has no .venv), else python.
# Exit status: 0 when no part recorded an error, 1 otherwise (the JSON is printed either way);
# 2 when --wheels could not install.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
elif [ -x .venv/bin/python ]; then PY=.venv/bin/python
elif command -v python3 >/dev/null 2>&1; then PY=python3
else PY=python
fi
if [ "${1:-}" = "--wheels" ]; then
  wheels=${2:?--wheels needs a folder}; shift 2
  site=${GPU_CHECK_SITE:-/tmp/site}
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" \
    "$wheels"/*.whl || { echo "gpu_check.sh: installing $wheels/*.whl into $site failed" >&2; exit 2; }
  export PYTHONPATH="$site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
echo "gpu_check.sh: $("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])' 2>&1)" \
  "PYTHONPATH=${PYTHONPATH:-}" >&2
exec "$PY" -m crossmodal.benchmarks.gpu_check "$@"
