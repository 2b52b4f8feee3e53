"""Package metadata: torch is a range that admits CUDA builds; the CPU wheel pin lives in
requirements.txt."""

import os
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _requirements(deps):
    return {Requirement(d).name: Requirement(d) for d in deps}


def _pyproject_deps():
    with open(os.path.join(ROOT, 'pyproject.toml'), 'rb') as f:
        return _requirements(tomllib.load(f)['project']['dependencies'])


def test_pyproject_torch_admits_cuda_builds():
    # before: torch==2.13.0, so `pip install -e .` replaced a user's CUDA torch (e.g. 2.5.1+cu124)
    torch_req = _pyproject_deps()['torch']
    for v in ('2.5.1+cu124', '2.6.0+cu126', '2.13.0', '2.13.0+cpu'):
        assert torch_req.specifier.contains(Version(v), prereleases=False), (v, str(torch_req))
    assert not torch_req.specifier.contains(Version('2.3.1'))  # no add_safe_globals / onnx dynamo=


@pytest.mark.parametrize(
    'name,ok,bad',
    [
        ('mmengine', '0.10.7', '0.11.0'),
        ('mmcv-lite', '2.1.0', '2.2.0'),
        ('mmsegmentation', '1.2.2', '1.3.0'),
    ],
)
def test_pyproject_openmmlab_ranges(name, ok, bad):
    req = _pyproject_deps()[name]
    assert req.specifier.contains(ok) and not req.specifier.contains(bad)


def test_requirements_txt_still_pins_the_cpu_wheel_version():
    with open(os.path.join(ROOT, 'requirements.txt')) as f:
        lines = [ln.split('#')[0].strip() for ln in f]
    reqs = _requirements([ln for ln in lines if ln])
    assert str(reqs['torch'].specifier) == '==2.13.0'
    with open(os.path.join(ROOT, 'tools', 'install_torch.sh')) as f:
        assert 'torch-2.13.0+cpu' in f.read()
