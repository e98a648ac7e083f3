"""Single-phase CT presets (exact counts, what `nbrisk presets` advises) and the modality warning."""

from __future__ import annotations

import logging

import pytest
import SimpleITK as sitk
from nbrisk.cli import main
from nbrisk.errors import InputError
from nbrisk.features.extract import extract_features
from nbrisk.features.modality import modality_mismatch
from nbrisk.features.presets import load_preset
from nbrisk.synthetic.phantom import PhantomSpec, make_phantom

SMALL = {"size": (64, 64, 24), "spacing": (1.0, 1.0, 2.5), "tumour_radius_mm": (11, 9, 10),
         "tumour_offset_mm": (12, -6, 0), "origin": (-32.0, -32.0, -30.0)}


@pytest.fixture(scope="module")
def ct():
    return make_phantom(PhantomSpec(**SMALL), seed=2)


@pytest.fixture(scope="module")
def mr():
    return make_phantom(PhantomSpec(modality="mr", **SMALL), seed=2)


def test_single_phase_presets_keep_the_seed_settings_with_exact_counts():
    for name, base, count in (("bi2025-ct-venous", "bi2025-ct", 14 + 9 * 93),
                              ("zhang2026-ct-venous", "zhang2026-ct", 14 + 14 * 93)):
        p, b = load_preset(name), load_preset(base)
        assert p.feature_count == count and p.phases == () and p.phase == "venous" and p.variant_of == base
        assert p.pyradiomics == b.pyradiomics and p.modality == "CT"
        assert b.feature_count == p.shape_feature_count + len(b.phases) * p.per_phase_feature_count


def test_presets_cli_says_which_preset_to_use_with_one_phase(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "Only one contrast phase" in out
    assert "bi2025-ct            -> bi2025-ct-venous (one venous image per case, 851 features)" in out
    assert "zhang2026-ct         -> zhang2026-ct-venous (one venous image per case, 1316 features)" in out


def test_multi_phase_preset_with_one_image_points_to_the_variant(ct):
    with pytest.raises(InputError, match="or use bi2025-ct-venous for a single venous image"):
        extract_features(ct.image, ct.tumour, "bi2025-ct")


def test_intensity_range_tells_ct_from_mri(ct, mr):
    assert modality_mismatch(ct.image, "CT") is None and modality_mismatch(mr.image, "MR") is None
    assert "looks like a CT" in modality_mismatch(ct.image, "MR")
    assert "looks like an MRI" in modality_mismatch(mr.image, "CT")
    assert modality_mismatch(mr.image, "CT", whole_image=False) is None  # a cropped block may hold no air
    assert modality_mismatch(ct.image, "any") is None


def test_mri_preset_on_a_ct_warns_once(ct, caplog):
    from nbrisk.features import modality

    modality._warned.clear()
    with caplog.at_level(logging.WARNING, logger="nbrisk.features.modality"):
        fv = extract_features(ct.image, ct.tumour, "kim2024-mri-2d")
        extract_features(ct.image, ct.tumour, "kim2024-mri-2d")
    msgs = [r.getMessage() for r in caplog.records if "is for MR" in r.getMessage()]
    assert len(msgs) == 1 and "looks like a CT" in msgs[0] and len(fv.values) == 930


@pytest.mark.parametrize("name", ["bi2025-ct-venous", "zhang2026-ct-venous"])
def test_single_phase_presets_extract_their_counts(ct, name):
    fv = extract_features(sitk.Cast(ct.image, sitk.sitkFloat32), ct.tumour, name)
    assert len(fv.values) == load_preset(name).feature_count
    assert not any(k.startswith("venous_") for k in fv.values)
