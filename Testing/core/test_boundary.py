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
    f.write_text("def f():\n    import slicer.util\n    from vtk import vtkPolyData\n"
                 "    return importlib.import_module('qt')\n", encoding="utf-8")
    assert _imports(f) & FORBIDDEN == {"slicer", "vtk", "qt"}


# ------------------------------------------------------------------------------------ the package's layout
def _graph():
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("import_graph", CORE.parents[1] / "Utilities" / "import_graph.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["import_graph"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_core_has_no_import_circles_and_no_upward_imports() -> None:
    g = _graph()
    edges = g.edges(CORE)
    adj: dict[str, set[str]] = {}
    for a, b, _ in edges:
        adj.setdefault(a, set()).add(b)
    mods = sorted(g.modules(CORE))
    for m in mods:
        adj.setdefault(m, set())
    assert g.sccs(mods, adj) == [], "import circles in the core"
    up = [(a, b) for a, b, _ in edges if (sa := g.stage_of(a)) is not None and (sb := g.stage_of(b)) is not None
          and sb > sa]
    assert up == [], f"a lower stage imports a higher one: {up}"


def test_core_imports_its_own_modules_at_import_time() -> None:
    """Imports of nbrisk modules inside functions hide the dependency graph; only the CLI may defer them.

    The one other exception is the package root, which loads ``nbrisk.api`` on first use (a fast ``import nbrisk``).
    """
    g = _graph()
    hidden = [(a, b) for a, b, h in g.edges(CORE)
              if h and not a.startswith(("nbrisk.cli", "nbrisk.synthetic.demo")) and (a, b) != ("nbrisk", "nbrisk.api")]
    assert hidden == [], f"imports inside functions: {hidden}"


def test_graph_checker_sees_a_circle(tmp_path: Path) -> None:
    pkg = tmp_path / "nbrisk"
    (pkg / "io").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "io" / "__init__.py").write_text("")
    (pkg / "io" / "a.py").write_text("from nbrisk.io import b\n")
    (pkg / "io" / "b.py").write_text("def f():\n    from nbrisk.io import a\n")
    (pkg / "staging").mkdir()
    (pkg / "staging" / "__init__.py").write_text("")
    (pkg / "io" / "c.py").write_text("import nbrisk.staging\n")
    g = _graph()
    mods = sorted(g.modules(pkg))
    adj: dict[str, set[str]] = {m: set() for m in mods}
    for a, b, _ in g.edges(pkg):
        adj[a].add(b)
    assert g.sccs(mods, adj) == [["nbrisk.io.a", "nbrisk.io.b"]]
    assert ("nbrisk.io.b", "nbrisk.io.a", True) in g.edges(pkg)
    assert g.stage_of("nbrisk.staging") > g.stage_of("nbrisk.io.c")


def test_tests_follow_the_package_layout() -> None:
    here = Path(__file__).resolve().parent
    stages = {p.name for p in CORE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    folders = {p.name for p in here.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}
    assert folders and folders <= stages, f"test folders without a stage package: {sorted(folders - stages)}"
    loose = sorted(p.name for p in here.glob("test_*.py") if p.name not in ("test_api.py", "test_boundary.py"))
    assert not loose, f"tests outside a stage folder: {loose}"
