"""Compute the script/resource lists of NBRiskModule/CMakeLists.txt and Resources/requirements.txt.

``python Testing/slicer_layer/cmake_sources.py`` rewrites the two CMake lists from the files on disk and
requirements.txt from pyproject.toml (run it after adding a module file or a dependency);
``test_packaging.py`` fails when they disagree.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULE_DIR = ROOT / "NBRiskModule"
CMAKE = MODULE_DIR / "CMakeLists.txt"
SKIP_PARTS = {"__pycache__", ".pytest_cache"}
DATA_SUFFIXES = {".yaml", ".yml", ".json", ".html", ".j2", ".jinja", ".css", ".txt", ".csv", ".png", ".svg", ".onnx",
                 ".md"}


def _files(base: Path) -> list[Path]:
    return sorted(p for p in base.rglob("*") if p.is_file() and not SKIP_PARTS & set(p.parts)
                  and not any(part.endswith(".egg-info") for part in p.parts))


def expected_scripts() -> list[str]:
    """NBRiskModule.py, every NBRiskLib/*.py and every nbrisk/**/*.py (paths relative to NBRiskModule/)."""
    scripts = [MODULE_DIR / "NBRiskModule.py"]
    scripts += [p for p in _files(MODULE_DIR / "NBRiskLib") if p.suffix == ".py"]
    scripts += [p for p in _files(MODULE_DIR / "nbrisk") if p.suffix == ".py"]
    return [p.relative_to(MODULE_DIR).as_posix() for p in scripts]


def expected_resources() -> list[str]:
    """Everything under Resources/ plus the core's package data (presets, recipes, data, templates)."""
    res = _files(MODULE_DIR / "Resources")
    res += [p for p in _files(MODULE_DIR / "nbrisk") if p.suffix in DATA_SUFFIXES]
    return [p.relative_to(MODULE_DIR).as_posix() for p in res]


def _block(text: str, variable: str) -> list[str]:
    match = re.search(rf"set\({variable}\s*\n(.*?)\n\s*\)", text, flags=re.S)
    if match is None:
        raise ValueError(f"{CMAKE}: no set({variable} ...) block")
    return [ln.strip() for ln in match.group(1).splitlines() if ln.strip() and not ln.strip().startswith("#")]


def listed() -> tuple[list[str], list[str]]:
    text = CMAKE.read_text(encoding="utf-8")
    return _block(text, "MODULE_PYTHON_SCRIPTS"), _block(text, "MODULE_PYTHON_RESOURCES")


def rewrite() -> None:
    text = CMAKE.read_text(encoding="utf-8")
    for variable, items in (("MODULE_PYTHON_SCRIPTS", expected_scripts()),
                            ("MODULE_PYTHON_RESOURCES", expected_resources())):
        body = "\n".join(f"  {item}" for item in items)
        text = re.sub(rf"set\({variable}\s*\n.*?\n\s*\)", f"set({variable}\n{body}\n  )", text, flags=re.S)
    CMAKE.write_text(text, encoding="utf-8")


SLICER_BUNDLED = ("numpy", "simpleitk")
REQUIREMENTS_HEADER = """\
# Python packages NBRisk installs into Slicer on first use (after asking; see NBRiskLib/dependencies.py).
# Generated from pyproject.toml [project].dependencies by Testing/slicer_layer/cmake_sources.py; a test checks it.
# Not listed because Slicer bundles them and they must not be replaced: numpy, SimpleITK.
# pyradiomics-bhklab provides the 'radiomics' module (the plain 'pyradiomics' release does not install).
"""


def write_requirements() -> None:
    import tomllib

    from packaging.requirements import Requirement

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    keep = [str(Requirement(d)) for d in deps if Requirement(d).name.lower() not in SLICER_BUNDLED]
    (MODULE_DIR / "Resources" / "requirements.txt").write_text(REQUIREMENTS_HEADER + "\n".join(keep) + "\n",
                                                               encoding="utf-8")


if __name__ == "__main__":
    rewrite()
    write_requirements()
    scripts, resources = listed()
    sys.stdout.write(f"{CMAKE}: {len(scripts)} scripts, {len(resources)} resources\n")
