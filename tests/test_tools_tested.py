"""Every tool is exercised by a test: a static check that each ``tools/*.py`` / ``tools/*.sh`` and
each ``tools/benchmark.py`` subcommand is named in some test file, plus the smoke test of the one
tool nothing else ran (tools/install_torch.sh, with a fake pip / python / nvidia-smi: no
install)."""

import ast
import glob
import os
import os.path as osp
import re
import subprocess

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOLS = sorted(
    osp.basename(p)
    for p in glob.glob(osp.join(ROOT, 'tools', '*.py')) + glob.glob(osp.join(ROOT, 'tools', '*.sh'))
)


def _test_texts():
    out = {}
    for p in glob.glob(osp.join(ROOT, 'tests', '**', '*.py'), recursive=True):
        if osp.abspath(p) != osp.abspath(__file__):
            with open(p) as f:
                out[osp.relpath(p, ROOT)] = f.read()
    return out


def _references(tool, texts):
    stem = osp.splitext(tool)[0]
    pat = re.compile(
        rf"tools/{re.escape(tool)}|tools\.{re.escape(stem)}\b|['\"]{re.escape(tool)}['\"]"
    )
    return [p for p, t in texts.items() if pat.search(t)]


def test_tools_are_listed():
    assert {'train.py', 'test.py', 'benchmark.py', 'install_torch.sh'} <= set(TOOLS)


@pytest.mark.parametrize('tool', TOOLS)
def test_every_tool_is_named_in_a_test(tool):
    assert _references(tool, _test_texts()), f'no test exercises tools/{tool}'


def test_every_benchmark_subcommand_is_run_by_a_test():
    with open(osp.join(ROOT, 'tools', 'benchmark.py')) as f:
        tree = ast.parse(f.read())
    subs = next(
        ast.literal_eval(n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign)
        and any(getattr(t, 'id', None) == 'SUBCOMMANDS' for t in n.targets)
    )
    assert subs
    texts = {p: t for p, t in _test_texts().items() if 'benchmark' in t}
    for name in (
        subs
    ):  # called as the first argument: _bench('<name>', ...) / [..., 'benchmark.py', '<name>'
        assert any(
            re.search(
                rf"\(\s*['\"]{re.escape(name)}['\"]\s*,|benchmark\.py['\"]\s*,\s*['\"]{re.escape(name)}['\"]",
                t,
            )
            for t in texts.values()
        ), f'no test runs tools/benchmark.py {name}'


# -------------------------------------------------------------------------------- install_torch.sh
def _fake(path, body):
    with open(path, 'w') as f:
        f.write('#!/bin/sh\n' + body + '\n')
    os.chmod(path, 0o755)


def _install_torch(tmp_path, has_torch, gpu, wheel=False):
    bin_ = tmp_path / 'bin'
    bin_.mkdir()
    log = tmp_path / 'pip.log'
    _fake(bin_ / 'pip', f'echo "$@" >> {log}')
    _fake(bin_ / 'python', 'exit 0' if has_torch else 'exit 1')  # the torch 2.13 probe
    _fake(bin_ / 'nvidia-smi', 'exit 0' if gpu else 'exit 1')
    wheels = tmp_path / 'wheels'
    wheels.mkdir()
    if wheel:
        (wheels / 'torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl').write_bytes(b'')
    env = dict(
        os.environ,
        PATH=f'{bin_}{os.pathsep}{os.environ.get("PATH", "")}',
        PIP_FIND_LINKS=str(wheels),
    )
    proc = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'install_torch.sh'), str(bin_ / 'pip')],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return log.read_text().strip() if log.exists() else ''


def test_install_torch_keeps_an_installed_213(tmp_path):
    assert _install_torch(tmp_path, has_torch=True, gpu=True) == ''


def test_install_torch_gpu_machine_takes_the_pypi_wheel(tmp_path):
    assert _install_torch(tmp_path, has_torch=False, gpu=True) == 'install -q torch==2.13.0'


def test_install_torch_cpu_machine_prefers_a_local_cpu_wheel(tmp_path):
    out = _install_torch(tmp_path, has_torch=False, gpu=False, wheel=True)
    assert out.startswith('install -q ') and out.endswith(
        'torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl'
    )


def test_install_torch_cpu_machine_falls_back_to_the_cpu_index(tmp_path):
    if glob.glob('/opt/wheels/torch-2.13.0+cpu-*.whl'):
        pytest.skip('/opt/wheels holds a CPU torch wheel here (the script takes it first)')
    out = _install_torch(tmp_path, has_torch=False, gpu=False)
    assert out == 'install -q torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu'
