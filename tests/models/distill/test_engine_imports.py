"""The distillation engine imports no method: ``crossmodal/models/distill/*.py`` never imports
``crossmodal.models.methods`` (absolute or relative, at module level or inside a function).

Methods build on the engine (subclasses, registry losses/connectors, loss inputs of
``crossmodal.models.distill.protocol``); the reverse dependency is what this test forbids.
"""

import ast
import os.path as osp
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[3] / 'crossmodal' / 'models' / 'distill'
PACKAGE = 'crossmodal.models.distill'
FORBIDDEN = 'crossmodal.models.methods'


def _imports(path: Path):
    """Absolute names of everything ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = PACKAGE.split('.')
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = '.'.join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ''
            yield node.lineno, module
            for alias in node.names:  # `from .. import methods`
                yield node.lineno, f'{module}.{alias.name}'


def test_engine_modules_exist():
    assert {'distill_segmentor.py', 'connectors.py', 'teachers.py', 'protocol.py'} <= {
        p.name for p in ENGINE.glob('*.py')
    }


@pytest.mark.parametrize('path', sorted(ENGINE.glob('*.py')), ids=lambda p: p.name)
def test_engine_module_imports_no_method(path):
    bad = [
        (line, name)
        for line, name in _imports(path)
        if name == FORBIDDEN or name.startswith(FORBIDDEN + '.')
    ]
    assert not bad, (
        f'{osp.relpath(path, ENGINE.parents[2])} imports method code {bad}; move it '
        f'into the method package and reach it through the engine protocol'
    )


def test_the_check_sees_relative_imports(tmp_path):
    f = tmp_path / 'x.py'
    f.write_text(
        'from ..methods.gkd.masking import PatchMasker\nfrom .. import methods\n'
        'def g():\n    import crossmodal.models.methods.mst\n'
    )
    names = [n for _, n in _imports(f)]
    assert 'crossmodal.models.methods.gkd.masking' in names
    assert 'crossmodal.models.methods' in names
    assert 'crossmodal.models.methods.mst' in names
