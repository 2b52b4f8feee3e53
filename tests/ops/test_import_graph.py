"""The modules of crossmodal/ops import each other without cycles.

The graph is read from the source with ``ast`` (nothing is imported): every ``import`` /
``from ... import`` anywhere in a module counts, including the lazy ones inside functions (a
lazy import still ties the two modules together: each needs the other to work).
"""

import ast
import os

import crossmodal

PKG = 'crossmodal.ops'
OPS_DIR = os.path.join(os.path.dirname(crossmodal.__file__), 'ops')


def _modules():
    return sorted(f[:-3] for f in os.listdir(OPS_DIR) if f.endswith('.py') and f != '__init__.py')


def _targets(node: ast.AST, modules) -> set:
    """Names of the crossmodal.ops modules one import statement pulls in."""
    out = set()
    if isinstance(node, ast.Import):
        for alias in node.names:
            parts = alias.name.split('.')
            if parts[:2] == ['crossmodal', 'ops'] and len(parts) > 2:
                out.add(parts[2])
    elif isinstance(node, ast.ImportFrom):
        if node.level == 1:  # from .x import y  /  from . import x
            base = node.module.split('.')[0] if node.module else None
        elif node.level == 0 and node.module and node.module.startswith(PKG + '.'):
            base = node.module.split('.')[2]
        elif node.level == 0 and node.module == PKG:
            base = None
        else:
            return out
        if base is not None:
            out.add(base)
        else:  # from . import x, y  /  from crossmodal.ops import x
            out.update(a.name for a in node.names if a.name in modules)
    return out & set(modules)


def import_graph():
    modules = _modules()
    graph = {}
    for m in modules:
        tree = ast.parse(open(os.path.join(OPS_DIR, m + '.py')).read(), filename=m + '.py')
        edges = set()
        for node in ast.walk(tree):
            edges |= _targets(node, modules)
        graph[m] = edges - {m}
    return graph


def find_cycle(graph):
    """One cycle as a list of modules (first == last), or None."""
    state, stack = {}, []

    def visit(m):
        state[m] = 'open'
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 'open':
                return stack[stack.index(n) :] + [n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        stack.pop()
        state[m] = 'done'
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def test_graph_reader_sees_lazy_and_package_imports():
    g = import_graph()
    assert {
        'attention_kl',
        'dense_kd',
        'triton_attention_kl',
        'triton_dense_kd',
        'triton_launch',
        'triton_aot',
        'common',
    } <= set(g)
    assert 'triton_attention_kl' in g['attention_kl']  # the lazy import in the dispatcher
    assert 'triton_dense_kd' in g['dense_kd']
    assert {'triton_attention_kl', 'triton_dense_kd'} <= g['triton_aot']  # `from . import a, b`
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b'}, 'b': set()}) is None


def test_no_import_cycle_in_ops():
    cycle = find_cycle(import_graph())
    assert cycle is None, 'import cycle in crossmodal/ops: ' + ' -> '.join(cycle)
