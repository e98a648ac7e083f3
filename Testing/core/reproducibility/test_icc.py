"""ICC: closed forms, a published worked example, pingouin, real pyradiomics features, edge cases, CLI."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
from nbrisk.cli import main
from nbrisk.errors import InputError
from nbrisk.reproducibility.icc import (
    FORMS,
    compute_icc,
    icc_arrays,
    icc_table,
    kept_features,
    koo_li_category,
    normalize_form,
)
from scipy.stats import f as f_dist

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges; their Table 4 gives the six ICCs.
SF_RATINGS = np.array(
    [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], float
)
SF_PUBLISHED = {
    "ICC(1,1)": 0.17,
    "ICC(2,1)": 0.29,
    "ICC(3,1)": 0.71,
    "ICC(1,k)": 0.44,
    "ICC(2,k)": 0.62,
    "ICC(3,k)": 0.91,
}


def reference_icc(x: np.ndarray, alpha: float = 0.05) -> dict[str, tuple[float, float, float]]:
    """Textbook ICCs of one (cases, readers) matrix, written out term by term with Python loops."""
    n, k = x.shape
    grand = sum(sum(r) for r in x.tolist()) / (n * k)
    rows = [sum(r) / k for r in x.tolist()]
    cols = [sum(x[i][j] for i in range(n)) / n for j in range(k)]
    sst = sum((x[i][j] - grand) ** 2 for i in range(n) for j in range(k))
    ssr = k * sum((m - grand) ** 2 for m in rows)
    ssc = n * sum((m - grand) ** 2 for m in cols)
    sse = sst - ssr - ssc
    bms, jms = ssr / (n - 1), ssc / (k - 1)
    ems, wms = sse / ((n - 1) * (k - 1)), (ssc + sse) / (n * (k - 1))
    q = 1 - alpha / 2
    out = {}
    # Shrout & Fleiss eq. for ICC(1,*): F = BMS/WMS, df (n-1, n(k-1))
    fo = bms / wms
    fl, fu = fo / f_dist.ppf(q, n - 1, n * (k - 1)), fo * f_dist.ppf(q, n * (k - 1), n - 1)
    out["ICC(1,1)"] = ((bms - wms) / (bms + (k - 1) * wms), (fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1))
    out["ICC(1,k)"] = ((bms - wms) / bms, 1 - 1 / fl, 1 - 1 / fu)
    # ICC(3,*): F = BMS/EMS, df (n-1, (n-1)(k-1))
    fo = bms / ems
    fl, fu = fo / f_dist.ppf(q, n - 1, (n - 1) * (k - 1)), fo * f_dist.ppf(q, (n - 1) * (k - 1), n - 1)
    out["ICC(3,1)"] = ((bms - ems) / (bms + (k - 1) * ems), (fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1))
    out["ICC(3,k)"] = ((bms - ems) / bms, 1 - 1 / fl, 1 - 1 / fu)
    # ICC(2,*): Satterthwaite df for the confidence interval (McGraw & Wong 1996, case 2A)
    r = (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n)
    a, b = k * r / (n * (1 - r)), 1 + k * r * (n - 1) / (n * (1 - r))
    v = (a * jms + b * ems) ** 2 / ((a * jms) ** 2 / (k - 1) + (b * ems) ** 2 / ((n - 1) * (k - 1)))
    fs, fs2 = f_dist.ppf(q, n - 1, v), f_dist.ppf(q, v, n - 1)
    lo = n * (bms - fs * ems) / (fs * (k * jms + (k * n - k - n) * ems) + n * bms)
    hi = n * (fs2 * bms - ems) / (k * jms + (k * n - k - n) * ems + n * fs2 * bms)
    out["ICC(2,1)"] = (r, lo, hi)
    out["ICC(2,k)"] = (
        (bms - ems) / (bms + (jms - ems) / n),
        lo * k / (1 + (k - 1) * lo),
        hi * k / (1 + (k - 1) * hi),
    )
    return out


def random_ratings(rng: np.random.Generator, n_feat: int, n: int, k: int) -> np.ndarray:
    truth = rng.normal(0, rng.uniform(0.2, 3, (n_feat, 1, 1)), (n_feat, n, 1))
    bias = rng.normal(0, 0.5, (n_feat, 1, k))
    return 10 + truth + bias + rng.normal(0, rng.uniform(0.1, 2, (n_feat, 1, 1)), (n_feat, n, k))


def test_shrout_fleiss_worked_example() -> None:
    res = icc_arrays(SF_RATINGS[None])
    for form, published in SF_PUBLISHED.items():
        assert round(float(res[form][0][0]), 2) == published, form


@pytest.mark.parametrize(("n", "k"), [(6, 4), (10, 2), (74, 2), (25, 3), (8, 5)])
def test_matches_closed_forms(n: int, k: int) -> None:
    rng = np.random.default_rng(n * 10 + k)
    y = random_ratings(rng, 20, n, k)
    res = icc_arrays(y)
    for i in range(y.shape[0]):
        ref = reference_icc(y[i])
        for form in FORMS:
            np.testing.assert_allclose(
                [res[form][j][i] for j in range(3)],
                ref[form],
                rtol=0,
                atol=1e-10,
                err_msg=f"{form} feature {i}",
            )


def _pingouin_icc(x: np.ndarray) -> pd.DataFrame:
    pg = pytest.importorskip("pingouin")
    n, k = x.shape
    long = pd.DataFrame(
        {"case": np.repeat(np.arange(n), k), "reader": np.tile(np.arange(k), n), "v": x.ravel()}
    )
    return pg.intraclass_corr(long, targets="case", raters="reader", ratings="v")


def test_matches_pingouin_on_random_data() -> None:
    rng = np.random.default_rng(7)
    y = random_ratings(rng, 15, 30, 3)
    table = icc_table(
        [pd.DataFrame({"case_id": range(30), **{f"f{j}": y[j, :, r] for j in range(15)}}) for r in range(3)]
    )
    for j in range(15):
        pgt = _pingouin_icc(y[j])
        ours = table[table["feature"] == f"f{j}"]
        np.testing.assert_allclose(ours["icc"].to_numpy(), pgt["ICC"].to_numpy(), rtol=0, atol=1e-10)
        ci = np.stack(pgt["CI95"].to_numpy())  # pingouin rounds intervals to 2 decimals
        np.testing.assert_allclose(ours[["ci_low", "ci_high"]].to_numpy(), ci, atol=0.005 + 1e-12)


@pytest.mark.slow
@pytest.mark.radiomics
def test_real_pyradiomics_features_match_pingouin_and_formulas(sample_data_dir) -> None:
    """Two 'readers' on pyradiomics' real sample cases: the given ROI and a 1 mm dilated one."""
    import SimpleITK as sitk
    from nbrisk.reproducibility.perturb import perturb_mask
    from radiomics import featureextractor

    ext = featureextractor.RadiomicsFeatureExtractor(binWidth=25)
    ext.disableAllFeatures()
    ext.enableFeatureClassByName("firstorder")
    ext.enableFeatureClassByName("shape")
    tables: dict[str, list[dict]] = {"R1": [], "R2": []}
    for case in ("brain1", "brain2", "breast1", "lung1", "lung2"):
        image = sitk.ReadImage(str(sample_data_dir / f"{case}_image.nrrd"))
        mask = sitk.ReadImage(str(sample_data_dir / f"{case}_label.nrrd")) == 1
        for reader, m in (("R1", mask), ("R2", perturb_mask(mask, "dilate:1"))):
            vals = ext.execute(image, sitk.Cast(m, sitk.sitkUInt8))
            tables[reader].append(
                {
                    "case_id": case,
                    **{k: float(v) for k, v in vals.items() if not k.startswith("diagnostics_")},
                }
            )
    result = compute_icc({r: pd.DataFrame(t) for r, t in tables.items()})
    assert result.table["feature"].nunique() == 18 + 14 - result.skipped_columns.__len__()
    checked = 0
    for feat, rows in result.table.groupby("feature", sort=False):
        if feat in result.constant_features:
            continue
        x = np.column_stack(
            [pd.DataFrame(tables[r]).set_index("case_id")[feat].to_numpy() for r in ("R1", "R2")]
        )
        ref = reference_icc(x)
        np.testing.assert_allclose(
            rows[["icc", "ci_low", "ci_high"]].to_numpy(),
            [ref[f] for f in rows["form"]],
            rtol=1e-9,
            atol=1e-10,
        )
        np.testing.assert_allclose(
            rows["icc"].to_numpy(), _pingouin_icc(x)["ICC"].to_numpy(), rtol=1e-9, atol=1e-10
        )
        checked += 1
    assert checked >= 25
    vol = result.table[
        (result.table["feature"] == "original_shape_VoxelVolume") & (result.table["form"] == "ICC(2,1)")
    ]
    assert (
        float(vol["icc"].iloc[0]) > 0.9
    )  # a 1 mm margin barely changes the between-case ordering of volumes


def test_koo_li_categories_and_forms() -> None:
    cats = koo_li_category(np.array([0.2, 0.4999, 0.5, 0.7499, 0.75, 0.8999, 0.9, 1.0, np.nan, -np.inf]))
    assert cats.tolist() == [
        "poor",
        "poor",
        "moderate",
        "moderate",
        "good",
        "good",
        "excellent",
        "excellent",
        "undefined",
        "undefined",
    ]
    assert normalize_form("icc2k") == "ICC(2,k)"
    assert normalize_form("ICC(A,1)") == "ICC(2,1)"
    with pytest.raises(InputError, match="unknown ICC form"):
        normalize_form("ICC(4,1)")


def _reader_tables(y: np.ndarray, cases: list[str] | None = None) -> list[pd.DataFrame]:
    cases = cases or [f"c{i:02d}" for i in range(y.shape[1])]
    return [
        pd.DataFrame({"case_id": cases, **{f"f{j}": y[j, :, r] for j in range(y.shape[0])}})
        for r in range(y.shape[2])
    ]


def test_constant_missing_and_incomplete_are_reported() -> None:
    rng = np.random.default_rng(3)
    y = random_ratings(rng, 4, 12, 2)
    y[1] = 5.0  # constant feature
    tables = _reader_tables(y)
    tables[0].loc[3, "f2"] = np.nan  # one missing value: f2 uses its 11 complete cases
    tables[1] = tables[1].drop(index=7)  # case c07 missing for reader 2
    res = compute_icc(tables, readers=["A", "B"])
    assert res.dropped_cases == {"c07": "missing for reader(s) B"}
    assert res.constant_features == ["f1"]
    assert res.incomplete_features == {"f2": 10}
    assert res.n_cases == 11
    t = res.table
    assert (t.loc[t["feature"] == "f1", "category"] == "constant").all()
    assert t.loc[t["feature"] == "f1", "icc"].isna().all()
    keep = [i for i in range(12) if i not in (3, 7)]
    expected = reference_icc(y[2][keep])
    got = t[(t["feature"] == "f2")].set_index("form")
    for form in FORMS:
        np.testing.assert_allclose(
            got.loc[form, ["icc", "ci_low", "ci_high"]].to_numpy(float), expected[form], atol=1e-10
        )
    assert "f1" not in kept_features(t, threshold=-1.0)
    assert not t[t["feature"] != "f1"]["icc"].isna().any()


def test_input_layouts_agree_and_kept_features() -> None:
    rng = np.random.default_rng(5)
    y = random_ratings(rng, 6, 15, 3)
    tables = _reader_tables(y)
    a = icc_table(tables, readers=["r1", "r2", "r3"])
    b = icc_table({"r1": tables[0], "r2": tables[1], "r3": tables[2]})
    wide = pd.concat([t.assign(reader=r) for r, t in zip(["r1", "r2", "r3"], tables, strict=True)])
    c = icc_table(wide.sample(frac=1.0, random_state=0))  # row order must not matter
    tidy = wide.melt(id_vars=["case_id", "reader"], var_name="feature", value_name="value")
    d = icc_table(tidy)
    for other in (b, c, d):
        pd.testing.assert_frame_equal(a, other, check_exact=False, atol=1e-12)
    assert list(a.columns) == ["feature", "form", "icc", "ci_low", "ci_high", "category"]
    assert a.attrs["report"]["readers"] == ["r1", "r2", "r3"]
    sub = a[a["form"] == "ICC(3,1)"]
    thr = float(sub["icc"].median())
    assert kept_features(a, thr, "ICC(3,1)") == sub.loc[sub["icc"] >= thr, "feature"].tolist()
    strict = kept_features(a, thr, "ICC(3,1)", bound="ci_low")
    assert set(strict) <= set(kept_features(a, thr, "ICC(3,1)"))
    with pytest.raises(InputError, match="at least 2 readers"):
        icc_table(tables[:1])
    dup = pd.concat([tables[0], tables[0].iloc[:1]])
    with pytest.raises(InputError, match="more than once"):
        icc_table([dup, tables[1]])


def test_vectorised_speed_1874_features() -> None:
    rng = np.random.default_rng(0)
    y = random_ratings(rng, 1874, 74, 2)
    tables = _reader_tables(y)
    icc_table(_reader_tables(y[:5]))  # warm-up: lazy imports and scipy set-up are not what is measured
    t0 = time.perf_counter()
    table = icc_table(tables)
    elapsed = time.perf_counter() - t0
    assert len(table) == 1874 * 6
    assert elapsed < 1.0, f"ICC of 1874 features took {elapsed:.2f} s"


# ------------------------------------------------------------------------------------------- CLI
def test_cli_two_files_and_reader_column(tmp_path, capsys) -> None:
    rng = np.random.default_rng(11)
    y = random_ratings(rng, 5, 20, 2)
    y[4] = 1.0
    t1, t2 = _reader_tables(y)
    t1.to_csv(tmp_path / "r1.csv", index=False)
    t2.to_csv(tmp_path / "r2.csv", index=False)
    two = ["icc", "--features", str(tmp_path / "r1.csv"), str(tmp_path / "r2.csv")]
    rc = main([*two, "--out", str(tmp_path / "icc.csv"), "--keep", str(tmp_path / "kept.txt"), "--threshold",
               "0.5", "--form", "ICC(2,1)", "--report", str(tmp_path / "report.json")])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    table = pd.read_csv(tmp_path / "icc.csv")
    assert list(table.columns) == ["feature", "form", "icc", "ci_low", "ci_high", "category"]
    assert len(table) == 5 * 6
    ref = reference_icc(y[0])["ICC(2,1)"]
    row = table[(table["feature"] == "f0") & (table["form"] == "ICC(2,1)")].iloc[0]
    np.testing.assert_allclose([row["icc"], row["ci_low"], row["ci_high"]], ref, atol=1e-9)
    kept = (tmp_path / "kept.txt").read_text(encoding="utf-8").split()
    assert kept == kept_features(table, 0.5, "ICC(2,1)")
    assert "f4" not in kept
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["constant_features"] == ["f4"]
    assert report["kept"] == len(kept)
    assert report["n_cases"] == 20
    assert report["form"] == "ICC(2,1)"
    assert "1 constant feature(s)" in out
    assert "readers (r1, r2)" in out
    # the same data as one file with a reader column
    pd.concat([t1.assign(reader="A"), t2.assign(reader="B")]).to_csv(tmp_path / "both.csv", index=False)
    rc = main(["icc", "--features", str(tmp_path / "both.csv"), "--out", str(tmp_path / "icc2.csv")])
    assert rc == 0
    pd.testing.assert_frame_equal(table, pd.read_csv(tmp_path / "icc2.csv"))


def test_cli_errors_are_one_line_and_write_nothing(tmp_path, capsys) -> None:
    rng = np.random.default_rng(2)
    t1, t2 = _reader_tables(random_ratings(rng, 3, 6, 2))
    t1.to_csv(tmp_path / "r1.csv", index=False)
    t2.to_csv(tmp_path / "r2.csv", index=False)
    out = tmp_path / "icc.csv"
    rc = main(["icc", "--features", str(tmp_path / "r1.csv"), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "needs a 'reader' column" in err
    assert len(err.strip().splitlines()) == 1
    rc = main(["icc", "--features", str(tmp_path / "r1.csv"), str(tmp_path / "nope.csv"), "--out", str(out)])
    assert rc == 2
    assert "nope.csv: feature table not found" in capsys.readouterr().err
    two = ["icc", "--features", str(tmp_path / "r1.csv"), str(tmp_path / "r2.csv")]
    rc = main([*two, "--out", str(out), "--form", "ICC(9,9)"])
    assert rc == 2
    assert "unknown ICC form" in capsys.readouterr().err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r1.csv", "r2.csv"]
