"""Core/Slicer boundary: nbrisk never imports Slicer-side modules; pip and imp stay where they belong."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

MODULE_DIR = Path(__file__).resolve().parents[2] / "NBRiskModule"
FORBIDDEN = {"slicer", "qt", "ctk", "vtk", "vtkmodules", "sitkUtils", "PythonQt", "NBRiskLib", "PySide6", "PyQt5"}
CORE_FILES = sorted((MODULE_DIR / "nbrisk").rglob("*.py"))
LAYER_FILES = [*sorted((MODULE_DIR / "NBRiskLib").glob("*.py")), MODULE_DIR / "NBRiskModule.py"]


@functools.cache
def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def imported_roots(tree: ast.AST) -> set[str]:
    """Top-level names imported anywhere (also inside functions and via importlib/__import__ literals)."""
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                roots.add(node.args[0].value.split(".")[0])
    return roots


def test_the_scan_finds_imports_in_every_form() -> None:
    code = "import vtk.util\nfrom slicer.util import x\ndef f():\n    import qt\n    importlib.import_module('ctk')\n"
    assert imported_roots(ast.parse(code)) == {"vtk", "slicer", "qt", "ctk"}


def test_core_has_files_to_check() -> None:
    assert len(CORE_FILES) > 10


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.relative_to(MODULE_DIR).as_posix())
def test_core_module_imports_nothing_from_slicer(path: Path) -> None:
    bad = imported_roots(parsed(path)) & FORBIDDEN
    assert not bad, f"{path.relative_to(MODULE_DIR)} imports {sorted(bad)}: move that code to NBRiskLib"


def _calls(tree: ast.AST) -> list[tuple[str, ast.Call]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            out.append((func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""), node))
    return out


def test_pip_is_called_only_from_dependencies_py() -> None:
    offenders = []
    for path in LAYER_FILES + CORE_FILES:
        if path.name == "dependencies.py":
            continue
        names = {name for name, _ in _calls(parsed(path))}
        if names & {"pip_install", "pip_ensure"}:
            offenders.append(path.name)
    assert not offenders


def test_no_imp_module_anywhere() -> None:
    for path in LAYER_FILES + CORE_FILES:
        assert "imp" not in imported_roots(parsed(path)), path


def test_dependency_install_runs_only_from_a_user_action() -> None:
    """dependencies.ensure() is called only inside _ensureDependencies, which only on* slots call."""
    callers: dict[str, set[str]] = {}
    for path in LAYER_FILES:
        for func in [n for n in ast.walk(parsed(path)) if isinstance(n, ast.FunctionDef)]:
            for name, _ in _calls(func):
                callers.setdefault(name, set()).add(func.name)
    assert callers["ensure"] == {"_ensureDependencies"}
    assert {"onGrow", "onPredict", "onLoadBundle", "onExportStudy", "onAnalyzeStudy"} <= callers["_ensureDependencies"]
    assert all(c.startswith("on") for c in callers["_ensureDependencies"]), callers["_ensureDependencies"]
    for path in LAYER_FILES:
        module = parsed(path)
        top_level_calls = {name for stmt in module.body if not isinstance(stmt, ast.FunctionDef | ast.ClassDef)
                           for name, _ in _calls(stmt)}
        assert not top_level_calls & {"ensure", "pip_install", "pip_ensure"}, path


def test_reload_purges_core_and_lib_modules() -> None:
    source = (MODULE_DIR / "NBRiskModule.py").read_text(encoding="utf-8")
    assert '("nbrisk", "NBRiskLib")' in source and "invalidate_caches" in source
