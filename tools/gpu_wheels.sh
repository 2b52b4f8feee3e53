#!/usr/bin/env bash
# Download, here (where pip reaches a registry), the wheels the GPU check needs on the lent H200
# machine, which has no registry and lacks the OpenMMLab stack: CPython 3.12, manylinux x86_64,
# --no-deps, exact versions, one version of each, into .whl/ (ignored by git; the device `run`
# call names it in `carry`). See docs/benchmarks.md "GPU check" for the device command.
#
# Usage: bash tools/gpu_wheels.sh [--verify-only]
#   --verify-only: skip the download; check what is in .whl/ (tags, zip integrity, one version of
#   each, every listed wheel present) and simulate the install of the pure-Python wheels with this
#   machine's Python (PYTHON, default .venv/bin/python or python3).
# Env: PIP_PYTHON (python that runs `pip download`, default python3), WHEEL_DIR (default .whl).
#
# The lists below are read by tests/benchmarks/test_gpu_wheels.py, which fails when an import-time
# dependency of crossmodal (requirements.txt, the Requires-Dist of every wheel listed here, and
# the modules the GPU check really imports) is neither in WHEELS, nor in H200_IMAGE, nor in
# NOT_CARRIED. Keep one `name==version` per line between `WHEELS=(` and `)`.
set -euo pipefail
cd "$(dirname "$0")/.."

# What the H200 image lacks and the GPU check imports (the versions this repo's .venv is tested with).
WHEELS=(
  mmengine==0.10.7
  mmcv-lite==2.1.0           # py2.py3-none-any wheel on the registry (no sdist build needed)
  mmsegmentation==1.2.2
  addict==2.4.0              # mmengine, mmcv
  yapf==0.43.0               # mmengine, mmcv (tomli only for Python < 3.11)
  platformdirs==4.14.9       # yapf
  termcolor==3.3.0           # mmengine
  prettytable==3.18.0        # mmseg
  wcwidth==0.9.4             # prettytable, ftfy (cp310-abi3 binary wheel)
  ftfy==6.3.1                # mmseg's tokenizer, imported when mmseg registers its modules
  albumentations==2.0.8      # crossmodal.datasets.transforms
  albucore==0.0.24           # albumentations (pinned ==0.0.24 there)
  stringzilla==5.3.2         # albucore (cp312 binary wheel)
  simsimd==6.5.16            # albucore (cp312 binary wheel)
  pydantic==2.14.4           # albumentations
  pydantic-core==2.50.5      # pydantic (pinned ==2.50.5 there; cp312 binary wheel)
  annotated-types==0.8.0     # pydantic
  typing-inspection==0.4.5   # pydantic
  typing-extensions==4.16.0  # pydantic needs >=4.16.0; the image has the package, version not recorded
)

# Carried on purpose although not imported at import time: none. Not carried (with why):
#   opencv-python   mmengine/mmcv-lite require it, but they only `import cv2`, which the image's
#                   opencv-python-headless provides (pip install --no-deps checks nothing).
#   laspy, lazrs, pyproj   LiDAR data prep only; crossmodal.datasets.lidar imports them lazily.
#   tomli           yapf needs it only on Python < 3.11.
#   torch, triton, numpy, onnx, onnxruntime, scipy, matplotlib, h5py, tifffile, regex, tqdm,
#   pyyaml, rich, packaging, pillow, pytest: in the image (the image's versions are used).
NOT_CARRIED="opencv-python laspy lazrs pyproj tomli"

# The H200 image's Python packages, transcribed from /work/.library/device/KINDS.md
# ("Python packages already there", read on a machine running the 'cuda' image on 2026-11-17).
H200_IMAGE="absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs
botorch build certifi charset-normalizer chex click cloudpickle cmake colorama contourpy coverage
cuda-bindings cuda-core cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops
equinox etils execnet filelock flatbuffers flax fonttools formulaic frozenlist fsspec gpytorch grpcio
h11 h5py hf-xet httpcore httpx huggingface-hub humanize hypothesis idna imageio iniconfig
interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2 joblib kiwisolver
lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml markdown
markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack multidict
multipledispatch mypy-extensions nanobind narwhals networkx ninja numba numba-cuda numpy numpyro
nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft
nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13 nvidia-ml-py
nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir onnxruntime onnxscript
opencv-python-headless optax opt-einsum opt-einsum-fx optimistix orbax-checkpoint packaging pandas
pathspec patsy peft pillow pip pluggy portalocker prometheus-client propcache protobuf psutil pyarrow
pybind11 py-cpuinfo pygments pyparsing pyproject-hooks pyre-extensions pytest pytest-benchmark
pytest-cov pytest-mock pytest-timeout pytest-xdist python-dateutil pytorch-lightning pyyaml regex
requests rich sacrebleu safetensors scikit-build-core scikit-image scikit-learn scipy seaborn
sentencepiece sentence-transformers setuptools shellingham simplejson six sortedcontainers
statsmodels sympy tabulate tensorboard tensorboard-data-server tensorstore threadpoolctl tifffile
tiktoken timm tokenizers toolz torch torchaudio torchdiffeq torch-geometric torchmetrics torchvision
tqdm transformers treescope triton typer typing-extensions typing-inspect urllib3 uvloop
wadler-lindig werkzeug wheel wrapt xarray xxhash yarl zipp"

WHEEL_DIR=${WHEEL_DIR:-.whl}
PIP_PYTHON=${PIP_PYTHON:-python3}
PLATFORMS=(manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64)

norm() { echo "$1" | tr 'A-Z-.' 'a-z__'; }   # wheel file names use the normalized name

verify_only=0
[ "${1:-}" = "--verify-only" ] && verify_only=1

if [ $verify_only = 0 ]; then
  # Keep .whl/ out of git (worktrees share the common dir's info/exclude).
  exclude=$(git rev-parse --git-path info/exclude)
  mkdir -p "$(dirname "$exclude")"
  grep -qxF '/.whl/' "$exclude" 2>/dev/null || echo '/.whl/' >> "$exclude"
  mkdir -p "$WHEEL_DIR"
  # One version of each: drop wheels of a listed package at another version.
  for spec in "${WHEELS[@]}"; do
    n=$(norm "${spec%%==*}"); v=${spec##*==}
    for f in "$WHEEL_DIR/$n"-*.whl; do
      [ -e "$f" ] || continue
      case "$(basename "$f")" in "$n-$v-"*) ;; *) echo "removing stale $f" >&2; rm -f "$f";; esac
    done
  done
  plat_args=(); for p in "${PLATFORMS[@]}"; do plat_args+=(--platform "$p"); done
  "$PIP_PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp "${plat_args[@]}" -d "$WHEEL_DIR" "${WHEELS[@]}" \
    2> >(grep -v -e 'is ignored: it is neither a file nor a directory' -e "Running pip as the 'root' user" >&2)
fi

# ---- verify: every listed wheel present once, tags usable by CPython 3.12 x86_64, zips intact
fail=0; pure=()
for spec in "${WHEELS[@]}"; do
  n=$(norm "${spec%%==*}"); v=${spec##*==}
  files=("$WHEEL_DIR/$n-$v-"*.whl)
  if [ ! -e "${files[0]}" ] || [ ${#files[@]} -ne 1 ]; then
    echo "MISSING or duplicated: $spec (${files[*]})" >&2; fail=1; continue
  fi
  f=${files[0]}; tag=$(basename "$f" .whl); tag=${tag#"$n-$v-"}
  case "$tag" in
    *-none-any) pure+=("$f") ;;
    cp312-cp312-*x86_64*|cp3[0-9]*-abi3-*x86_64*) ;;
    *) echo "BAD TAG for CPython 3.12 x86_64: $f" >&2; fail=1 ;;
  esac
  unzip -tq "$f" >/dev/null || { echo "CORRUPT: $f" >&2; fail=1; }
done
for f in "$WHEEL_DIR"/*.whl; do
  [ -e "$f" ] || continue
  b=$(basename "$f"); known=0
  for spec in "${WHEELS[@]}"; do case "$b" in "$(norm "${spec%%==*}")-${spec##*==}-"*) known=1;; esac; done
  [ $known = 1 ] || echo "note: $f is not in WHEELS but will be installed on the device too" >&2
done

# Simulated install of the pure-Python wheels with this machine's Python (the cp312 binary ones
# cannot import here; the .venv's own copies stand in for them), then import them from there.
PY=${PYTHON:-python3}
[ -z "${PYTHON:-}" ] && [ -x .venv/bin/python ] && PY=.venv/bin/python
sim=$(mktemp -d /tmp/gpu_site.XXXXXX)
if "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$sim" "${pure[@]}" \
     2> >(grep -v "Running pip as the 'root' user" >&2) \
   && PYTHONPATH="$sim" "$PY" - "$sim" <<'EOF'
import sys, os
sim = sys.argv[1]
import mmengine, mmcv, mmseg, albumentations, albucore, pydantic, addict, yapf, termcolor, prettytable, ftfy
bad = [m.__name__ for m in (mmengine, mmcv, mmseg, albumentations, pydantic, yapf, prettytable, ftfy)
       if not os.path.realpath(m.__file__).startswith(os.path.realpath(sim))]
if bad:
    sys.exit(f'simulated install: {bad} not imported from {sim}')
print(f'simulated install OK ({sys.version.split()[0]}): mmengine {mmengine.__version__}, '
      f'mmcv {mmcv.__version__}, mmseg {mmseg.__version__} imported from {sim}', file=sys.stderr)
EOF
then :; else echo "simulated install/import FAILED (site: $sim)" >&2; fail=1; fi
rm -rf "$sim"

wheels_bytes=$(cat "$WHEEL_DIR"/*.whl 2>/dev/null | wc -c)
tree_bytes=$(git ls-files -co --exclude-standard -z | xargs -0 cat 2>/dev/null | wc -c)
echo "wheels: $(ls "$WHEEL_DIR"/*.whl 2>/dev/null | wc -l) files, $((wheels_bytes / 1024)) KiB in $WHEEL_DIR/"
echo "repo tree that travels (tracked + untracked-not-ignored): $((tree_bytes / 1024)) KiB"
echo "together: $(((wheels_bytes + tree_bytes) / 1048576)) MiB of the device tool's 64 MiB"
[ $((wheels_bytes + tree_bytes)) -lt $((60 * 1048576)) ] || { echo "over 60 MiB" >&2; fail=1; }
exit $fail
