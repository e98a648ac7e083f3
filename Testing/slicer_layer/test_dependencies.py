"""First-use dependency handling: detect what is missing, ask, install only after consent, clear decline."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

MODULE_DIR = Path(__file__).resolve().parents[2] / "NBRiskModule"


@pytest.fixture
def dependencies(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(MODULE_DIR))
    sys.modules.pop("NBRiskLib.dependencies", None)
    from NBRiskLib import dependencies

    return dependencies


class FakeSlicer:
    """Records dialogs and pip calls; ``packaging`` only when given (Slicer >= 5.12)."""

    def __init__(self, answer: bool, packaging=None, tmp_folder=None) -> None:
        self.asked: list[tuple[str, str]] = []
        self.installed: list[list[str]] = []

        def confirm(text, title=None, detailedText=""):
            self.asked.append((text, detailedText))
            return answer

        self.util = SimpleNamespace(confirmOkCancelDisplay=confirm, pip_install=self.installed.append)
        self.app = SimpleNamespace(temporaryPath=str(tmp_folder)) if tmp_folder else None
        if packaging is not None:
            self.packaging = packaging


def write_requirements(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text("# comment\n\n-c constraints.txt\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_read_requirements_skips_comments_and_options(dependencies, tmp_path: Path) -> None:
    assert dependencies.read_requirements(write_requirements(tmp_path, "numpy>=1.0  # inline")) == ["numpy>=1.0"]


def test_missing_requirements_checks_presence_and_version(dependencies) -> None:
    reqs = ["numpy>=1.0", "numpy<1.0", "nbrisk-surely-not-installed>=1", "pandas; python_version < '3'"]
    assert dependencies.missing_requirements(reqs) == ["numpy<1.0", "nbrisk-surely-not-installed>=1"]


def test_nothing_is_asked_when_all_is_installed(dependencies, tmp_path: Path) -> None:
    fake = FakeSlicer(answer=False)
    dependencies.ensure(write_requirements(tmp_path, "numpy>=1.0", "SimpleITK"), fake)
    assert fake.asked == [] and fake.installed == []


def test_user_is_asked_with_the_list_and_then_pip_installs(dependencies, tmp_path: Path) -> None:
    fake = FakeSlicer(answer=True)
    dependencies.ensure(write_requirements(tmp_path, "numpy>=1.0", "nbrisk-surely-not-installed>=2"), fake)
    assert len(fake.asked) == 1
    assert "1 Python package" in fake.asked[0][0]
    assert fake.asked[0][1] == "- nbrisk-surely-not-installed>=2"
    assert fake.installed[0][:2] == ["nbrisk-surely-not-installed>=2", "-c"]


def test_decline_installs_nothing_and_says_what_to_do(dependencies, tmp_path: Path) -> None:
    fake = FakeSlicer(answer=False)
    with pytest.raises(dependencies.DependencyDeclinedError, match="nbrisk-surely-not-installed") as info:
        dependencies.ensure(write_requirements(tmp_path, "nbrisk-surely-not-installed"), fake)
    assert fake.installed == []
    assert "Install Python packages" in str(info.value) and "\n" not in str(info.value)
    from nbrisk.errors import MissingDependencyError

    assert isinstance(info.value, MissingDependencyError)


def test_slicer_packaging_pip_ensure_is_used_when_available(dependencies, tmp_path: Path) -> None:
    calls = []
    packaging = SimpleNamespace(load_requirements=lambda p: ["REQS from " + Path(p).name],
                                pip_ensure=lambda reqs, requester, constraints: calls.append((reqs, requester)))
    fake = FakeSlicer(answer=False, packaging=packaging)
    dependencies.ensure(write_requirements(tmp_path, "nbrisk-surely-not-installed"), fake)
    assert calls == [(["REQS from requirements.txt"], "NBRisk")]
    assert fake.asked == [] and fake.installed == []


def test_pip_ensure_decline_becomes_a_clear_error(dependencies, tmp_path: Path) -> None:
    def declined(reqs, requester, constraints):
        raise RuntimeError("User declined package installation")

    fake = FakeSlicer(answer=False, packaging=SimpleNamespace(load_requirements=lambda p: [], pip_ensure=declined))
    with pytest.raises(dependencies.DependencyDeclinedError, match="cannot run without"):
        dependencies.ensure(write_requirements(tmp_path, "nbrisk-surely-not-installed"), fake)


def test_shipped_requirements_are_satisfied_here(dependencies) -> None:
    """The test environment has everything (so the panel tests see no install dialog)."""
    reqs = dependencies.read_requirements(MODULE_DIR / "Resources" / "requirements.txt")
    assert len(reqs) > 10
    assert dependencies.missing_requirements(reqs) == []


def test_installs_never_replace_what_slicer_bundles(dependencies, tmp_path: Path) -> None:
    """Defect 4: every install gets a constraints file pinning the bundled packages to their installed versions,
    and a requirement that contradicts a bundled version is refused before the user is asked."""
    import importlib.metadata

    (tmp_path / "slicer_bundled_packages.txt").write_text(
        "# source: a Slicer SuperBuild\nnumpy==2.0.2  # External_python-numpy.cmake\n"
        "nbrisk-not-bundled-here==1.0\n", encoding="utf-8")
    numpy_here = importlib.metadata.version("numpy")
    fake = FakeSlicer(answer=True, tmp_folder=tmp_path)
    dependencies.ensure(write_requirements(tmp_path, "numpy>=1.0", "nbrisk-surely-not-installed"), fake)
    args = fake.installed[0]
    constraints = Path(args[args.index("-c") + 1])
    assert constraints.read_text(encoding="utf-8").splitlines() == [f"numpy=={numpy_here}"]
    fake = FakeSlicer(answer=True, tmp_folder=tmp_path)
    with pytest.raises(dependencies.BundledPackageConflictError, match=f"numpy<1 .Slicer bundles numpy {numpy_here}"):
        dependencies.ensure(write_requirements(tmp_path, "numpy<1", "nbrisk-surely-not-installed"), fake)
    assert fake.asked == [] and fake.installed == []


def test_shipped_requirements_accept_the_versions_slicer_5_10_bundles(dependencies) -> None:
    """No direct requirement excludes a version pinned in Slicer 5.10's SuperBuild (pydicom 2.4.4, numpy 2.0.2,
    scipy 1.13.1, SimpleITK 2.5.2 ...). Transitive conflicts need a resolver: Utilities/slicer_py312_check.py."""
    resources = MODULE_DIR / "Resources"
    pins = dependencies.read_requirements(resources / "slicer_bundled_packages.txt")
    assert {"pydicom==2.4.4", "numpy==2.0.2", "scipy==1.13.1"} <= set(pins)
    assert not any(p.lower().startswith("pyyaml") for p in pins)
    reqs = dependencies.read_requirements(resources / "requirements.txt")
    assert dependencies.conflicts(reqs, pins) == []
    assert dependencies.conflicts(["pydicom>=3"], pins) == ["pydicom>=3 (Slicer bundles pydicom 2.4.4)"]
