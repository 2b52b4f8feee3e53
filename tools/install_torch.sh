#!/usr/bin/env bash
# Install torch 2.13 without ever pulling a multi-GB CUDA build onto a CPU machine.
# - already installed (any 2.13 build, e.g. a CUDA build a GPU user chose): keep it;
# - a GPU machine (nvidia-smi works): the default PyPI wheel (CUDA);
# - a CPU machine: the local CPU wheel if pip's find-links has one, else PyTorch's CPU index.
set -euo pipefail
PIP=${1:-pip}
PY=$(dirname "$PIP")/python
if "$PY" -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('2.13') else 1)" 2>/dev/null; then
  exit 0
fi
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
  exec "$PIP" install -q torch==2.13.0
fi
for d in ${PIP_FIND_LINKS:-} /opt/wheels; do
  if ls "$d"/torch-2.13.0+cpu-*.whl >/dev/null 2>&1; then
    exec "$PIP" install -q "$(ls "$d"/torch-2.13.0+cpu-*.whl | head -1)"
  fi
done
exec "$PIP" install -q torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
