"""Extension packaging: CMake lists complete, catalog entries agree with CMakeLists.txt, icons, requirements."""

from __future__ import annotations

import json
import re
import struct
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from . import cmake_sources

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_KEYS = {"$schema", "category", "scm_url", "scm_revision", "scm_type", "build_dependencies",
               "build_subdirectory", "enabled", "tier"}   # Slicer's catalog-entry schema v1.0.1
SLICER_BUNDLED = {"numpy", "simpleitk"}


def cmake_vars() -> dict[str, str]:
    text = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    return dict(re.findall(r'set\((EXTENSION_\w+)\s+"([^"]*)"\)', text))


def s4ext() -> dict[str, str]:
    out = {}
    for line in (ROOT / "extension.s4ext").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition(" ")
            out[key] = value.strip()
    return out


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_cmake_script_list_matches_the_files_on_disk() -> None:
    scripts, _ = cmake_sources.listed()
    expected = cmake_sources.expected_scripts()
    assert "NBRiskModule.py" in scripts and "NBRiskLib/widget.py" in scripts and "nbrisk/io/images.py" in scripts
    missing, extra = sorted(set(expected) - set(scripts)), sorted(set(scripts) - set(expected))
    assert not missing and not extra, (f"NBRiskModule/CMakeLists.txt is stale (missing {missing}, extra {extra}); "
                                       "run: python Testing/slicer_layer/cmake_sources.py")


def test_cmake_resource_list_matches_the_files_on_disk() -> None:
    _, resources = cmake_sources.listed()
    expected = cmake_sources.expected_resources()
    assert {"Resources/UI/NBRiskModule.ui", "Resources/requirements.txt", "Resources/Icons/NBRiskModule.png"} \
        <= set(resources)
    assert sorted(resources) == sorted(expected), "run: python Testing/slicer_layer/cmake_sources.py"
    for item in resources:
        assert (cmake_sources.MODULE_DIR / item).is_file(), item


def test_cmake_registers_the_module_and_its_self_test() -> None:
    text = (ROOT / "NBRiskModule" / "CMakeLists.txt").read_text(encoding="utf-8")
    assert "slicerMacroBuildScriptedModule(" in text and "set(MODULE_NAME NBRiskModule)" in text
    assert "slicer_add_python_unittest(SCRIPT ${MODULE_NAME}.py)" in text
    assert "add_subdirectory(NBRiskModule)" in (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")


def test_extension_metadata_is_complete_and_s4ext_agrees() -> None:
    meta, ext = cmake_vars(), s4ext()
    for key in ("HOMEPAGE", "CATEGORY", "CONTRIBUTORS", "DESCRIPTION", "ICONURL", "SCREENSHOTURLS", "DEPENDS"):
        assert meta[f"EXTENSION_{key}"], key
    assert "not for clinical use" in meta["EXTENSION_DESCRIPTION"].lower()
    pairs = {"homepage": "HOMEPAGE", "category": "CATEGORY", "contributors": "CONTRIBUTORS",
             "description": "DESCRIPTION", "iconurl": "ICONURL", "screenshoturls": "SCREENSHOTURLS",
             "depends": "DEPENDS", "scmurl": "SCMURL", "status": "STATUS", "scm": "SCM"}
    for s4_key, cmake_key in pairs.items():
        assert ext[s4_key] == meta[f"EXTENSION_{cmake_key}"], s4_key


def test_catalog_json_entry_follows_the_schema_and_agrees() -> None:
    entry = json.loads((ROOT / "NBRisk.json").read_text(encoding="utf-8"))
    meta = cmake_vars()
    assert {"$schema", "category", "scm_url"} <= set(entry) <= SCHEMA_KEYS
    assert entry["$schema"].endswith("slicer-extension-catalog-entry-schema-v1.0.1.json#")
    assert entry["category"] == meta["EXTENSION_CATEGORY"]
    assert entry["scm_url"] == meta["EXTENSION_SCMURL"] == s4ext()["scmurl"]
    assert entry["build_subdirectory"] == s4ext()["build_subdirectory"]
    assert isinstance(entry["tier"], int) and 1 <= entry["tier"] <= 5


def test_icon_and_screenshot_exist_with_the_right_size() -> None:
    meta = cmake_vars()
    icon = ROOT / meta["EXTENSION_ICONURL"].split("/main/", 1)[1]
    shot = ROOT / meta["EXTENSION_SCREENSHOTURLS"].split("/main/", 1)[1]
    assert png_size(icon) == (128, 128)
    assert png_size(ROOT / "NBRiskModule" / "Resources" / "Icons" / "NBRiskModule.png") == (128, 128)
    width, height = png_size(shot)
    assert width >= 300 and height >= 300


def test_requirements_txt_agrees_with_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {Requirement(r).name.lower(): Requirement(r) for r in project["dependencies"]}
    lines = (ROOT / "NBRiskModule" / "Resources" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    slicer = {Requirement(r).name.lower(): Requirement(r) for r in lines if r.strip() and not r.startswith("#")}
    assert "pyradiomics-bhklab" in slicer and "pyradiomics" not in slicer
    assert not set(slicer) & SLICER_BUNDLED, "never replace packages Slicer bundles"
    assert set(slicer) == set(core) - SLICER_BUNDLED, (
        f"only in pyproject: {sorted(set(core) - SLICER_BUNDLED - set(slicer))}, "
        f"only in requirements.txt: {sorted(set(slicer) - set(core))}")
    for name, req in slicer.items():
        assert req.specifier == core[name].specifier, f"{name}: {req.specifier} vs pyproject {core[name].specifier}"


def test_licence_and_readme_are_packaged_with_the_extension() -> None:
    """Defect 7: without LICENSE.txt (and EXTENSION_LICENSE_FILE) CPack ships Slicer's own licence text."""
    licence = (ROOT / "LICENSE.txt").read_text(encoding="utf-8")
    assert "Apache License" in licence and "Version 2.0" in licence
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"]["text"] == "Apache-2.0"
    meta = cmake_vars()
    assert meta["EXTENSION_LICENSE_FILE"] == "${CMAKE_CURRENT_SOURCE_DIR}/LICENSE.txt"
    assert meta["EXTENSION_README_FILE"] == "${CMAKE_CURRENT_SOURCE_DIR}/README.md"


def test_cmake_minimum_matches_what_slicer_5_10_requires() -> None:
    """Defect 7: SlicerConfig.cmake (v5.10.0) says cmake_minimum_required(VERSION 3.20.6...3.22.6)."""
    text = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    assert re.search(r"^cmake_minimum_required\(VERSION 3\.20\.6\.\.\.3\.22\.6 FATAL_ERROR\)", text, re.M)


def test_ctest_skips_with_a_message_when_packages_are_missing(standin, monkeypatch) -> None:
    """Defect 7: on a build machine without the pip packages the ctest reports 'skipped', not 'failed'."""
    import unittest

    import NBRiskModule
    from NBRiskLib import selftest

    text = (ROOT / "NBRiskModule" / "CMakeLists.txt").read_text(encoding="utf-8")
    assert f'SKIP_REGULAR_EXPRESSION "{selftest.SKIP_MARKER}"' in text
    monkeypatch.setattr(selftest, "missing_packages", lambda: ["pyradiomics-bhklab==3.1.4"])
    monkeypatch.setattr(selftest, "run_full_flow", lambda *a: pytest.fail("must not run without packages"))
    with pytest.raises(unittest.SkipTest, match=f"{selftest.SKIP_MARKER} .*pyradiomics-bhklab"):
        NBRiskModule.NBRiskModuleTest().runTest()
