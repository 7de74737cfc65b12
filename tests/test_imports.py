"""The package's import graph: no cycles between landkit modules, no private cross-module imports.

Every ``import``/``from ... import`` inside landkit counts, including those inside functions:
an import moved into a function to dodge a cycle is still a cycle in the design.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "landkit"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_edges():
    """(importer, imported module, imported name or None, line) for every landkit-internal import."""
    mods = _modules()
    edges = []
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] == "landkit":
                        edges.append((name, a.name, None, node.lineno))
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(name, is_pkg, node)
                if target.split(".")[0] != "landkit":
                    continue
                for a in node.names:
                    sub = f"{target}.{a.name}"
                    if sub in mods:          # "from . import report" imports a module
                        edges.append((name, sub, None, node.lineno))
                    else:
                        edges.append((name, target, a.name, node.lineno))
    return mods, edges


def _owner(mod: str, mods) -> str:
    """The module a dotted name lives in (a package's __init__ counts as the package)."""
    while mod and mod not in mods:
        mod = mod.rpartition(".")[0]
    return mod


def _is_ancestor(pkg: str, mod: str) -> bool:
    return mod.startswith(pkg + ".")


def test_no_private_names_imported_from_another_module():
    mods, edges = import_edges()
    bad = [f"{src}:{line} imports {name} from {dst}" for src, dst, name, line in edges
           if name and name.startswith("_") and not name.startswith("__") and _owner(dst, mods) != src]
    assert not bad, "\n".join(bad)


def test_no_import_cycles():
    mods, edges = import_edges()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for src, dst, _name, _line in edges:
        dst = _owner(dst, mods)
        # a package's __init__ re-exporting its own submodules is not a cycle of the design
        if dst and dst != src and not _is_ancestor(src, dst) and not _is_ancestor(dst, src):
            graph[src].add(dst)
    # Tarjan's strongly connected components
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]; counter[0] += 1
        stack.append(v); on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert not out, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in out)


def test_the_checker_sees_a_cycle_and_a_private_import(tmp_path, monkeypatch):
    """The two checks above can fail: a planted cycle and private import are found."""
    pkg = tmp_path / "landkit"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from .b import g\n")
    (pkg / "b.py").write_text("from .a import f\nfrom .a import _hidden\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", pkg)
    with pytest.raises(AssertionError, match="landkit.a <-> landkit.b"):
        test_no_import_cycles()
    with pytest.raises(AssertionError, match="_hidden"):
        test_no_private_names_imported_from_another_module()
