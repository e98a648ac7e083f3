"""The panel depends on two small interfaces; the real logic and runner provide them, signature for signature."""

from __future__ import annotations

import inspect


def _members(proto: type) -> list[str]:
    return [n for n, v in vars(proto).items() if callable(v) and not n.startswith("_")]


def _check(proto: type, impl: type) -> list[str]:
    problems = []
    for name in _members(proto):
        if not hasattr(impl, name):
            problems.append(f"{impl.__name__} lacks {name}")
            continue
        want = [p for p in inspect.signature(getattr(proto, name)).parameters if p != "self"]
        raw = inspect.getattr_static(impl, name)
        got_fn = raw.__func__ if isinstance(raw, staticmethod | classmethod) else getattr(impl, name)
        got = [p for p in inspect.signature(got_fn).parameters if p != "self"]
        if got[: len(want)] != want:
            problems.append(f"{impl.__name__}.{name}{tuple(got)} does not take {tuple(want)}")
    return problems


def test_real_logic_and_runner_provide_the_panel_interfaces(standin):
    import NBRiskModule
    from NBRiskLib.protocols import JobRunner, PanelLogic
    from NBRiskLib.runner import CliRunner

    assert _check(PanelLogic, NBRiskModule.NBRiskModuleLogic) == []
    assert _check(JobRunner, CliRunner) == []


def test_the_check_sees_a_missing_or_different_method(standin):
    from NBRiskLib.protocols import JobRunner

    class Partial:
        def is_running(self) -> bool:
            return False

        def start(self, argv, done) -> None:  # other parameter names
            pass

    problems = _check(JobRunner, Partial)
    assert "Partial lacks cancel" in problems and any("start" in p for p in problems)


def test_nbrisklib_re_exports_what_the_module_file_uses(standin):
    import ast

    import NBRiskLib
    from NBRiskLib.slicer_logic import NBRiskLogic

    from .conftest import MODULE_DIR

    assert NBRiskLib.NBRiskLogic is NBRiskLogic
    tree = ast.parse((MODULE_DIR / "NBRiskModule.py").read_text(encoding="utf-8"))
    used = {(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
            and n.module.startswith("NBRiskLib") for a in n.names}
    assert {m for m, _ in used} <= {"NBRiskLib"}, used  # the module file imports from the package only
    assert {name for _, name in used} - {"selftest"} <= set(NBRiskLib.EXPORTS)
