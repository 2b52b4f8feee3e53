"""``tools/gpu_wheels.sh`` lists every wheel the GPU check needs on the H200 machine (no network).

The H200 image has torch, triton, onnxruntime, opencv-python-headless, ... but not the OpenMMLab
stack; ``tools/gpu_wheels.sh`` downloads what it lacks into ``.whl/``. These tests keep its lists
from rotting: every requirement in ``requirements.txt``, every ``Requires-Dist`` of a listed wheel
(as this environment's installed copy declares it, evaluated for CPython 3.12 on Linux) and every
distribution that importing the GPU check's modules really loads must be in ``WHEELS`` (carried),
``H200_IMAGE`` (in the image) or ``NOT_CARRIED`` (not imported at import time, with a reason in the
script). Nothing is downloaded.
"""

import importlib.metadata as md
import json
import os
import re
import subprocess
import sys

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, 'tools', 'gpu_wheels.sh')
#: the H200 machine's Python (KINDS.md: Python 3.12.3, Linux x86_64)
MARKER_ENV = dict(
    python_version='3.12',
    python_full_version='3.12.3',
    sys_platform='linux',
    platform_system='Linux',
    platform_machine='x86_64',
    os_name='posix',
    implementation_name='cpython',
    platform_python_implementation='CPython',
    extra='',
)
#: modules the GPU check imports (crossmodal itself, registration, the parts' lazy imports)
GPU_CHECK_MODULES = [
    'crossmodal.benchmarks.gpu_check',
    'crossmodal.benchmarks.train_step',
    'crossmodal.benchmarks.amp',
    'crossmodal.benchmarks.infer',
    'crossmodal.benchmarks.kernels',
    'crossmodal.testing.config_check',
    'crossmodal.deploy',
    'crossmodal_runtime',
    'crossmodal.ops.triton_launch',
    'mmengine.runner',
]


def _lists():
    text = open(SCRIPT).read()
    block = re.search(r'^WHEELS=\((.*?)^\)', text, re.S | re.M).group(1)
    wheels = {}
    for line in block.splitlines():
        line = line.split('#')[0].strip()
        if line:
            name, version = line.split('==')
            assert canonicalize_name(name) not in wheels, f'{name} listed twice'
            wheels[canonicalize_name(name)] = version
    image = set(
        map(
            canonicalize_name, re.search(r'^H200_IMAGE="(.*?)"', text, re.S | re.M).group(1).split()
        )
    )
    not_carried = set(
        map(canonicalize_name, re.search(r'^NOT_CARRIED="(.*?)"', text, re.M).group(1).split())
    )
    return wheels, image, not_carried


def test_lists_parse_and_do_not_overlap():
    wheels, image, not_carried = _lists()
    assert {'mmengine', 'mmcv-lite', 'mmsegmentation'} <= set(wheels)
    assert (
        len(image) > 150 and {'torch', 'triton', 'onnxruntime', 'opencv-python-headless'} <= image
    )
    assert not set(wheels) & not_carried
    # carried although in the image only to pin a version some wheel needs
    assert set(wheels) & image <= {'typing-extensions'}, set(wheels) & image
    assert subprocess.run(['bash', '-n', SCRIPT]).returncode == 0


def test_requirements_are_covered_and_pins_agree():
    wheels, image, not_carried = _lists()
    for line in open(os.path.join(ROOT, 'requirements.txt')):
        line = line.split('#')[0].strip()
        if not line:
            continue
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name in wheels or name in image or name in not_carried, (
            f'{req.name} (requirements.txt) is in none of WHEELS / H200_IMAGE / NOT_CARRIED of '
            f'tools/gpu_wheels.sh'
        )
        if name in wheels:
            assert req.specifier.contains(wheels[name], prereleases=True), (req, wheels[name])


def test_requires_dist_of_every_wheel_is_covered():
    wheels, image, not_carried = _lists()
    for name, version in wheels.items():
        try:
            installed = md.version(name)
        except md.PackageNotFoundError:
            pytest.fail(
                f'{name} (tools/gpu_wheels.sh) is not installed here: the wheels should be '
                f'the versions this environment is tested with'
            )
        assert Version(installed) == Version(version), (
            f'tools/gpu_wheels.sh pins {name}=={version}, this environment has {installed}'
        )
        for line in md.requires(name) or []:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate(MARKER_ENV):
                continue
            dep = canonicalize_name(req.name)
            assert dep in wheels or dep in image or dep in not_carried, (
                f'{name} requires {req} at import time, which the H200 image lacks: add it to '
                f'WHEELS in tools/gpu_wheels.sh (or to NOT_CARRIED, saying why)'
            )
            if dep in wheels:
                assert req.specifier.contains(wheels[dep], prereleases=True), (
                    f'{name} requires {req}, tools/gpu_wheels.sh carries {dep}=={wheels[dep]}'
                )


def test_everything_the_gpu_check_imports_is_carried_or_in_the_image():
    wheels, image, _ = _lists()
    code = f"""
import importlib, importlib.metadata as md, json, sys
import crossmodal
crossmodal.register_all_modules()
for m in {GPU_CHECK_MODULES!r}:
    importlib.import_module(m)
tops = {{m.split('.')[0] for m in list(sys.modules)}} - set(sys.stdlib_module_names)
pd = md.packages_distributions()
print(json.dumps({{t: pd[t] for t in sorted(tops) if t in pd}}))
"""
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''),
    )
    res = subprocess.run(
        [sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, env=env, timeout=240
    )
    assert res.returncode == 0, res.stderr[-3000:]
    dists = json.loads(res.stdout.strip().splitlines()[-1])
    assert {'mmengine', 'mmcv', 'mmseg', 'torch'} <= set(dists)
    missing = {}
    for top, names in dists.items():
        names = {canonicalize_name(n) for n in names} - {'crossmodal'}
        if names and not names & (set(wheels) | image):  # cv2: opencv-python or -headless will do
            missing[top] = sorted(names)
    assert not missing, (
        f'imported by the GPU check but neither carried by tools/gpu_wheels.sh nor in '
        f'the H200 image: {missing}'
    )


def test_wheel_folder_is_ignored():
    lines = [ln.strip() for ln in open(os.path.join(ROOT, '.gitignore'))]
    assert '/.whl/' in lines
