"""Checks run inside a venv that reproduces 3D Slicer 5.10's Python (see slicer_py312_env.sh).

    python slicer_py312_check.py before-install   # the module opens without PyYAML; pip's plan keeps the pins
    python slicer_py312_check.py install          # NBRiskLib.dependencies.ensure installs, pins unchanged
    python slicer_py312_check.py selftest         # NBRiskModuleTest.runTest on real MRML (slicer-core)

Exit status 0 when the check holds, 1 with a one-line reason otherwise.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
RESOURCES = ROOT / "NBRiskModule" / "Resources"
sys.path[:0] = [str(ROOT / "Testing" / "slicer_layer"), str(ROOT / "NBRiskModule")]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def fail(message: str) -> None:
    print(f"slicer_py312_check: FAILED: {message}", file=sys.stderr)
    raise SystemExit(1)


def pins() -> dict[str, str]:
    from NBRiskLib import dependencies

    return {t.split("==")[0]: t.split("==")[1] for t in dependencies.read_requirements(
        RESOURCES / "slicer_bundled_packages.txt")}


def check_pins_unchanged() -> None:
    changed = {name: (version, importlib.metadata.version(name)) for name, version in pins().items()
               if importlib.metadata.version(name) != version}
    if changed:
        fail(f"bundled packages replaced: {changed}")
    print(f"all {len(pins())} bundled packages at Slicer 5.10's versions")


def open_panel():
    import harness
    import pythonqt_rules
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    slicer, _ = harness.setup_slicer(tempfile.mkdtemp(prefix="nbrisk312-"))
    pythonqt_rules.install()
    import NBRiskModule

    NBRiskModule.NBRiskModule(SimpleNamespace(path=NBRiskModule.__file__))
    widget = NBRiskModule.NBRiskModuleWidget()
    return app, slicer, widget


def before_install() -> None:
    print(f"Python {sys.version.split()[0]}")
    try:
        import yaml  # noqa: F401
    except ImportError:
        print("PyYAML not installed (as in Slicer 5.10)")
    else:
        fail("PyYAML is installed: this venv does not reproduce Slicer 5.10")
    check_pins_unchanged()
    _, slicer, widget = open_panel()
    if slicer.util.messages:
        fail(f"the panel showed dialogs while opening: {slicer.util.messages}")
    combo = widget.panel.ui.presetComboBox
    print(f"panel opened without dialogs; {combo.property('count')} preset entries")
    from NBRiskLib import dependencies

    constraints = dependencies.bundled_constraints(list(pins()))
    folder = Path(tempfile.mkdtemp(prefix="nbrisk312-"))
    cfile = dependencies.write_constraints(constraints, folder)
    report = folder / "report.json"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report", str(report),
                           "-r", str(RESOURCES / "requirements.txt"), "-c", str(cfile)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        fail("pip cannot resolve NBRisk's requirements without replacing a bundled package: "
             + " ".join(done.stderr.split())[-600:])
    plan = {i["metadata"]["name"]: i["metadata"]["version"] for i in json.loads(report.read_text())["install"]}
    replaced = sorted(set(map(str.lower, plan)) & set(map(str.lower, pins())))
    if replaced:
        fail(f"pip would replace bundled packages: {replaced}")
    print(f"pip plan: {len(plan)} packages, none bundled: " + ", ".join(f"{k}=={v}" for k, v in sorted(plan.items())))


def install() -> None:
    from NBRiskLib import dependencies

    def pip_install(args) -> None:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *args], check=True)

    fake_slicer = SimpleNamespace(app=SimpleNamespace(temporaryPath=tempfile.mkdtemp(prefix="nbrisk312-")),
                                  util=SimpleNamespace(confirmOkCancelDisplay=lambda *a, **k: True,
                                                       pip_install=pip_install))
    dependencies.ensure(RESOURCES / "requirements.txt", fake_slicer)
    missing = dependencies.missing_requirements(dependencies.read_requirements(RESOURCES / "requirements.txt"))
    if missing:
        fail(f"still missing after install: {missing}")
    check_pins_unchanged()


def selftest() -> None:
    import unittest

    _, slicer, _ = open_panel()  # puts the real slicer package and the Qt stand-ins in place first
    import NBRiskModule
    from NBRiskLib import selftest as flow

    if flow.missing_packages():
        fail(f"packages missing: {flow.missing_packages()}")

    slicer.mrmlScene.Clear(0)
    case = NBRiskModule.NBRiskModuleTest()
    report = flow.run_full_flow(case, NBRiskModule.NBRiskModuleLogic())
    report.pop("panel", None)
    print("self-test passed: " + json.dumps({k: v for k, v in report.items() if k != "study_files"}, default=str))
    assert isinstance(case, unittest.TestCase)


if __name__ == "__main__":
    commands = {"before-install": before_install, "install": install, "selftest": selftest}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)
    commands[sys.argv[1]]()
