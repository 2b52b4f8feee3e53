#!/usr/bin/env bash
# One short GPU check for the distillation kernels (run on a CUDA machine with triton installed):
#   1. the Triton-vs-reference equivalence tests, compiled for the GPU (TRITON_INTERPRET=0),
#   2. the kernels benchmark (reference vs chunked vs Triton, time + peak memory),
# and prints one JSON object: {"tests": {...}, "benchmark": {...}}.
# Usage: bash tools/gpu_check.sh [extra args for `tools/benchmark.py kernels`]
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && PY=.venv/bin/python
OUT=${OUT:-$(mktemp -d)}

if ! "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  echo '{"error": "tools/gpu_check.sh: no CUDA device visible to torch"}'
  exit 1
fi

TRITON_INTERPRET=0 "$PY" -m pytest -q -p no:cacheprovider tests/ops/test_triton_kernels.py \
  > "$OUT/tests.log" 2>&1
TEST_RC=$?
"$PY" tools/benchmark.py kernels --device cuda "$@" > "$OUT/bench.json" 2> "$OUT/bench.err"
BENCH_RC=$?

"$PY" - "$OUT" "$TEST_RC" "$BENCH_RC" <<'PYEOF'
import json, sys
out, test_rc, bench_rc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
log = open(f'{out}/tests.log').read().strip().splitlines()
try:
    bench = json.load(open(f'{out}/bench.json'))
except Exception as exc:  # report what failed instead of hiding it
    bench = {'error': repr(exc), 'stderr_tail': open(f'{out}/bench.err').read()[-2000:]}
print(json.dumps({'tests': {'returncode': test_rc, 'summary': log[-1] if log else '',
                            'log_tail': log[-30:] if test_rc else []},
                  'benchmark_returncode': bench_rc, 'benchmark': bench}, indent=2))
sys.exit(test_rc or bench_rc)
PYEOF
