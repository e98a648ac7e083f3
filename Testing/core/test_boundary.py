"""The core package never imports Slicer, Qt, CTK or VTK (not even inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

FORBIDDEN = {"slicer", "qt", "ctk", "vtk", "vtkmodules", "sitkUtils", "PythonQt", "PySide6", "PyQt5", "PyQt6",
             "mrml", "NBRiskLib"}
CORE = Path(__file__).resolve().parents[2] / "NBRiskModule" / "nbrisk"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module", "__import__"
        ) and node.args and isinstance(node.args[0], ast.Constant):
            names.add(str(node.args[0].value).split(".")[0])
    return names


def test_core_has_no_gui_imports() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 10
    bad = {str(f.relative_to(CORE)): sorted(_imports(f) & FORBIDDEN) for f in files if _imports(f) & FORBIDDEN}
    assert not bad, f"core modules import GUI/Slicer packages: {bad}"


def test_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("def f():\n    import slicer.util\n    from vtk import vtkPolyData\n    return importlib.import_module('qt')\n", encoding="utf-8")
    assert _imports(f) & FORBIDDEN == {"slicer", "vtk", "qt"}
