"""The public API (nbrisk/__init__.py): docs/api.md's example runs as written, and the names stay functions."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import nbrisk

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_docs_api_example_runs_end_to_end(tmp_path):
    code = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S).group(1)
    script = tmp_path / "example.py"
    script.write_text(f"WORKDIR = {str(tmp_path / 'work')!r}\n" + code, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    n_features = int(re.search(r"^(\d+) features", out, re.M).group(1))
    from nbrisk.features.presets import load_preset

    assert n_features == load_preset("pyradiomics-default").feature_count
    assert float(re.search(r"cross-validated AUC ([\d.]+)", out).group(1)) >= 0.8  # two separable textures
    assert re.search(r"predicted class [01] probability [\d.]+", out)
    assert float(re.search(r"Dice of the grown ROI ([\d.]+)", out).group(1)) >= 0.5
    assert "INRG group E low" in out  # L2, 20 months, GN-favourable biology: group E (Cohn 2009)
    assert (tmp_path / "work" / "model.nbrisk").is_file()


def test_api_names_are_functions_even_after_their_stage_packages_are_imported():
    import nbrisk.prediction.predict
    import nbrisk.segmentation.grow

    for name in nbrisk.API:
        assert callable(getattr(nbrisk, name)), name
        assert getattr(nbrisk, name).__module__ == "nbrisk.api", name


def test_import_nbrisk_does_not_load_the_scientific_stack():
    code = "import sys, nbrisk; print(sorted(m for m in ('sklearn', 'radiomics', 'SimpleITK') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_extract_features_given_paths_says_what_to_call(sample_data_dir):
    from nbrisk.features.extract import extract_features

    img, mask = sample_data_dir / "brain1_image.nrrd", sample_data_dir / "brain1_label.nrrd"
    with pytest.raises(nbrisk.InputError,
                       match=r"brain1_image.nrrd: extract_features takes SimpleITK images.*nbrisk\.extract"):
        extract_features(img, mask, "pyradiomics-default")


def test_extract_from_paths_equals_extract_from_images(sample_data_dir):
    img, mask = sample_data_dir / "brain1_image.nrrd", sample_data_dir / "brain1_label.nrrd"
    from_paths = nbrisk.extract(img, mask, "pyradiomics-default")
    image, m = nbrisk.load_case(img, mask)
    from_images = nbrisk.extract(image, m.image, "pyradiomics-default")
    assert from_paths.values == from_images.values


def test_stage_from_checklist_and_metastases():
    from nbrisk.staging.idrf import Checklist

    cl = Checklist.new("case")
    for item in cl.idrf_ids:
        cl.set(item, "absent")
    res = nbrisk.stage(cl, metastases=False, age_months=30, histology="neuroblastoma", grade="differentiating",
                       mycn="not_amplified")
    assert res.stage.stage == "L1" and res.risk.classified
    with pytest.raises(nbrisk.InputError, match="name the sites"):
        nbrisk.stage(cl, metastases=True, age_months=30)


def test_cli_help_does_not_load_the_model_or_feature_stack():
    """``nbrisk --help`` builds every verb's parser; verbs load scikit-learn/pyradiomics only when they run."""
    code = ("import sys; from nbrisk.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('sklearn', 'radiomics', 'imblearn', 'skops') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_icc_from_csv_paths_equals_icc_from_tables(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    truth = rng.normal(size=(12, 3))
    paths = {}
    for r in ("A", "B"):
        df = pd.DataFrame(truth + 0.1 * rng.normal(size=truth.shape), columns=["f1", "f2", "f3"])
        df.insert(0, "case_id", [f"c{i}" for i in range(12)])
        paths[r] = tmp_path / f"{r}.csv"
        df.to_csv(paths[r], index=False)
    from_paths = nbrisk.icc(paths, form="ICC(3,1)")
    from_list = nbrisk.icc(list(paths.values()), form="ICC(3,1)")
    from_tables = nbrisk.icc({r: pd.read_csv(p, dtype={"case_id": str}) for r, p in paths.items()}, form="ICC(3,1)")
    assert list(from_paths["feature"]) == ["f1", "f2", "f3"] and (from_paths["icc"] > 0.9).all()
    pd.testing.assert_frame_equal(from_paths, from_tables)
    pd.testing.assert_frame_equal(from_list, from_tables)
