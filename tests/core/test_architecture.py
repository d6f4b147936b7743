"""Invariants of the code base (see ARCHITECTURE.md).

core/ is a chain of packages, each importing only packages to its left:

    common < data < models < campaigns < opportunity < journeys < solvers < planning
           < pipeline < insights < rl

``ops`` (exports, the store) imports ``common`` only and may be used by every package right of
``common``; ``cli`` may import anything and is the only place in core that prints or parses
arguments. No two core modules import each other, directly or through others.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core"

#: The packages of core, left to right (a package may import those to its left).
LAYERS: tuple[str, ...] = (
    "common",
    "data",
    "models",
    "campaigns",
    "opportunity",
    "journeys",
    "solvers",
    "planning",
    "pipeline",
    "insights",
    "rl",
)
SIDE = {"ops": ("common",)}  # side packages and what they may import
TOP = "cli"  # may import anything
MAX_LINES = 800


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in CORE.rglob("*.py")}


def _resolve(module: str, name: str | None) -> str | None:
    """The core module an import refers to (a submodule when ``name`` is one)."""
    if not module.startswith("core"):
        return None
    if name is not None and f"{module}.{name}" in MODULES:
        return f"{module}.{name}"
    while module not in MODULES and "." in module:
        module = module.rsplit(".", 1)[0]
    return module if module in MODULES else None


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, core module) of every import of ``path``, function-local ones included."""
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for a in node.names:
                target = _resolve(a.name, None)
                if target:
                    yield node.lineno, target
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for a in node.names:
                target = _resolve(base, a.name)
                if target:
                    yield node.lineno, target


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _allowed(src: str | None, dst: str | None) -> bool:
    if src is None or src == "__main__" or src == TOP or dst is None or src == dst:
        return True
    if src in SIDE:
        return dst in SIDE[src]
    if dst in SIDE:
        return src != "common"
    if dst == TOP:
        return False
    if src not in LAYERS or dst not in LAYERS:
        return False
    return LAYERS.index(dst) < LAYERS.index(src)


GRAPH: dict[str, set[str]] = {m: {t for _, t in _imports(p) if t != m} for m, p in MODULES.items()}


def test_every_core_package_has_a_place_in_the_layers():
    packages = {p.name for p in CORE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= {*LAYERS, *SIDE, TOP}, packages - {*LAYERS, *SIDE, TOP}
    loose = sorted(
        p.name for p in CORE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")
    )
    assert loose == [], f"modules outside the packages: {loose}"


def test_imports_point_only_to_the_left():
    wrong = []
    for module, path in MODULES.items():
        src = _package(module)
        for line, target in _imports(path):
            if not _allowed(src, _package(target)):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert wrong == [], "\n".join(wrong)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_between_core_modules():
    assert _cycles(GRAPH) == []


def test_the_cycle_check_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert not _allowed("journeys", "solvers") and _allowed("solvers", "journeys")
    assert not _allowed("ops", "data") and _allowed("pipeline", "ops")
    assert not _allowed("models", "cli") and _allowed("cli", "rl")


def _prints_or_parses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id == "print":
                found.append(f"{node.lineno}: print(...)")
            elif (
                isinstance(f, ast.Attribute)
                and f.attr == "write"
                and isinstance(f.value, ast.Attribute)
                and f.value.attr in ("stdout", "stderr")
            ):
                found.append(f"{node.lineno}: sys.{f.value.attr}.write(...)")
        elif isinstance(node, ast.Import) and any(a.name == "argparse" for a in node.names):
            found.append(f"{node.lineno}: import argparse")
        elif isinstance(node, ast.ImportFrom) and node.module == "argparse":
            found.append(f"{node.lineno}: from argparse import ...")
    return found


def test_only_the_cli_prints_or_parses_arguments():
    offenders = {
        str(p.relative_to(ROOT)): hits
        for m, p in MODULES.items()
        if _package(m) != TOP and m != "core.__main__" and (hits := _prints_or_parses(p))
    }
    assert offenders == {}


@pytest.mark.parametrize("folder", ["core", "ui"])
def test_no_file_is_over_the_size_limit(folder):
    paths = list((ROOT / folder).rglob("*.py"))
    assert paths, f"{folder}/ has no Python files"
    long = {
        str(p.relative_to(ROOT)): n
        for p in paths
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_core_never_imports_streamlit_statically():
    offenders = [
        str(p.relative_to(ROOT))
        for p in CORE.rglob("*.py")
        if any(
            isinstance(n, ast.Import | ast.ImportFrom)
            and any(
                (getattr(n, "module", None) or a.name).split(".")[0] == "streamlit" for a in n.names
            )
            for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        )
    ]
    assert offenders == []


def test_importing_all_of_core_does_not_load_streamlit():
    modules = sorted(m for m in MODULES if not m.endswith("__main__"))
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print('streamlit' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_scenario_settings_validate_without_loading_scikit_learn():
    code = (
        "import sys\n"
        "from core.pipeline import Settings\n"
        "Settings(catalog='full', model_preset='fast', solver='exact')\n"
        "import core.models\n"
        "print('sklearn' in sys.modules)\n"
        "from core.models import KeyFactorModels\n"
        "print('sklearn' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "True"]


def test_test_modules_have_unique_names() -> None:
    """The test folders are not packages, so pytest imports each file by its base name: two
    ``test_x.py`` in different folders stop the whole run at collection."""
    seen: dict[str, Path] = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        assert path.name not in seen, f"{path} and {seen[path.name]}: rename one"
        seen[path.name] = path
