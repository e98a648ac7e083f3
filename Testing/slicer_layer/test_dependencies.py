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

    def __init__(self, answer: bool, packaging=None) -> None:
        self.asked: list[tuple[str, str]] = []
        self.installed: list[list[str]] = []

        def confirm(text, title=None, detailedText=""):
            self.asked.append((text, detailedText))
            return answer

        self.util = SimpleNamespace(confirmOkCancelDisplay=confirm, pip_install=self.installed.append)
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
    assert fake.installed == [["nbrisk-surely-not-installed>=2"]]


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
                                pip_ensure=lambda reqs, requester: calls.append((reqs, requester)))
    fake = FakeSlicer(answer=False, packaging=packaging)
    dependencies.ensure(write_requirements(tmp_path, "nbrisk-surely-not-installed"), fake)
    assert calls == [(["REQS from requirements.txt"], "NBRisk")]
    assert fake.asked == [] and fake.installed == []


def test_pip_ensure_decline_becomes_a_clear_error(dependencies, tmp_path: Path) -> None:
    def declined(reqs, requester):
        raise RuntimeError("User declined package installation")

    fake = FakeSlicer(answer=False, packaging=SimpleNamespace(load_requirements=lambda p: [], pip_ensure=declined))
    with pytest.raises(dependencies.DependencyDeclinedError, match="cannot run without"):
        dependencies.ensure(write_requirements(tmp_path, "nbrisk-surely-not-installed"), fake)


def test_shipped_requirements_are_satisfied_here(dependencies) -> None:
    """The test environment has everything (so the panel tests see no install dialog)."""
    reqs = dependencies.read_requirements(MODULE_DIR / "Resources" / "requirements.txt")
    assert len(reqs) > 10
    assert dependencies.missing_requirements(reqs) == []
