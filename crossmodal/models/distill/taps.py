"""Feature taps: record module outputs by dotted path with forward hooks.

A tap path is a dotted module path relative to the model (``'backbone'``,
``'decode_head.conv_seg'``, ``'fusions.3'``, ``'backbone.layers.3.2'``) optionally followed by an
index into a list/tuple output, ``'backbone[3]'`` (the fourth stage map of an mmseg backbone, which
returns a list). ModuleList indices use dots (``layers.3``), as in ``named_modules()``.

Hooks only fire when a module is *called* (``module(x)``); a container such as ``nn.ModuleList`` or
a method invoked as ``module.forward(x)`` never triggers them. Such a tap is reported after the
forward pass by :meth:`TapRecorder.get` instead of silently yielding nothing (mmrazor issue #339).
"""

from __future__ import annotations

import contextlib
import difflib
import re
from typing import Dict, List, Optional, Tuple

import torch.nn as nn

_TAP_RE = re.compile(r'^(?P<path>[A-Za-z0-9_.]*?)(\[(?P<index>-?\d+)\])?$')
_ADAPTER_RE = re.compile(r'^(?P<spec>.*?)@(?P<adapter>[A-Za-z_][A-Za-z0-9_]*)$')


def parse_tap(spec: str) -> Tuple[str, Optional[int]]:
    """``'backbone[3]'`` -> ``('backbone', 3)``; ``'decode_head.conv_seg'`` -> (path, None)."""
    m = _TAP_RE.match(spec.strip())
    if m is None or not m.group('path'):
        raise ValueError(
            f'invalid tap path {spec!r}: expected a dotted module path optionally '
            f'followed by [index], e.g. "backbone[3]" or "decode_head.conv_seg"'
        )
    index = m.group('index')
    return m.group('path'), (int(index) if index is not None else None)


def split_adapter(spec: str) -> Tuple[str, Optional[str]]:
    """``'a.b.attn@qk'`` -> ``('a.b.attn', 'qk')``; a spec without ``@`` -> ``(spec, None)``."""
    spec = spec.strip()
    if '@' not in spec:
        return spec, None
    m = _ADAPTER_RE.match(spec)
    if m is None:
        raise ValueError(
            f'invalid tap path {spec!r}: expected "module.path@adapter", '
            f'e.g. "backbone.layers.2.1.0.attn@qk"'
        )
    return m.group('spec'), m.group('adapter')


def resolve_module(root: nn.Module, path: str, owner: str = 'model') -> nn.Module:
    """Return ``root``'s submodule at dotted ``path``; unknown path -> ``KeyError`` with
    suggestions."""
    modules = dict(root.named_modules())
    if path in modules and path != '':
        return modules[path]
    names = [n for n in modules if n]
    close = difflib.get_close_matches(path, names, n=5, cutoff=0.5)
    if not close:  # fall back to names sharing the first path component
        head = path.split('.')[0]
        close = [n for n in names if n.split('.')[0] == head][:5]
    hint = f'; nearest valid names: {close}' if close else ''
    raise KeyError(f'tap path "{path}" does not exist in the {owner} ({type(root).__name__}){hint}')


class TapRecorder:
    """Forward hooks on named module paths of one model; outputs are kept until :meth:`clear`.

    Args:
        model: the module whose submodules are tapped.
        taps: ``{tap_name: 'dotted.path' or 'dotted.path[index]' or 'dotted.path@adapter'}``.
        owner: name used in error messages (``'student'``, ``'teacher "rgbt"'``).

    The recorded value of a module called several times in one forward is the **last** call's
    output. Outputs keep their autograd graph (student) or not (teachers under ``no_grad``).
    """

    def __init__(self, model: nn.Module, taps: Dict[str, str], owner: str = 'model') -> None:
        self.owner = owner
        self.specs: Dict[str, Tuple[str, Optional[int]]] = {}
        self._outputs: Dict[str, object] = {}
        self._handles: List = []
        hooked = set()
        for name, spec in taps.items():
            spec, adapter = split_adapter(spec)
            path, index = parse_tap(spec)
            module = resolve_module(model, path, owner)
            key = path if adapter is None else f'{path}@{adapter}'
            self.specs[name] = (key, index)
            if key in hooked:
                continue
            hooked.add(key)
            if adapter is None:
                self._handles.append(module.register_forward_hook(self._make_hook(key)))
            else:
                from .tap_adapters import get_tap_adapter

                fn = get_tap_adapter(adapter)
                if fn.check is not None:
                    fn.check(module, path)
                self._handles.append(
                    module.register_forward_hook(
                        self._make_adapter_hook(key, fn.compute), with_kwargs=True
                    )
                )

    def _make_hook(self, key: str):
        def hook(module, args, output):
            self._outputs[key] = output

        return hook

    def _make_adapter_hook(self, key: str, compute):
        def hook(module, args, kwargs, output):
            self._outputs[key] = compute(module, args, kwargs, output)

        return hook

    def clear(self) -> None:
        self._outputs.clear()

    def snapshot(self) -> Dict[str, object]:
        """A copy of what is recorded now (for :meth:`restore`)."""
        return dict(self._outputs)

    def restore(self, snapshot: Dict[str, object]) -> None:
        """Replace what is recorded by ``snapshot`` (from :meth:`snapshot`)."""
        self._outputs.clear()
        self._outputs.update(snapshot)

    @contextlib.contextmanager
    def isolated(self):
        """An extra forward pass inside the block records from scratch; on exit the recordings of
        before the block are back (e.g. GKD's masked student pass between the normal pass and the
        losses)."""
        saved = self.snapshot()
        self.clear()
        try:
            yield self
        finally:
            self.restore(saved)

    def has(self, name: str) -> bool:
        return self.specs[name][0] in self._outputs

    def get(self, name: str):
        """The recorded output of tap ``name`` (indexed when the spec has ``[i]``)."""
        path, index = self.specs[name]
        if path not in self._outputs:
            raise RuntimeError(
                f'tap "{name}" ({path}) of the {self.owner} recorded nothing: the module was not '
                f'called during the forward pass (containers such as ModuleList never run, and '
                f'modules invoked as .forward() bypass hooks). Tap a module that is called, e.g. '
                f'"backbone[3]" for the 4th backbone stage or "decode_head.conv_seg" for logits.'
            )
        out = self._outputs[path]
        if index is not None:
            if not isinstance(out, (list, tuple)):
                raise TypeError(
                    f'tap "{name}" indexes [{index}] but {path} of the {self.owner} '
                    f'returned a {type(out).__name__}, not a list/tuple'
                )
            if not -len(out) <= index < len(out):
                raise IndexError(
                    f'tap "{name}": {path} of the {self.owner} returned {len(out)} '
                    f'outputs, index {index} is out of range'
                )
            out = out[index]
        return out

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()
