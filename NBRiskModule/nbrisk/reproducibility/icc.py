"""Intraclass correlation of radiomic features between readers, vectorised over features.

All six Shrout & Fleiss (1979) / McGraw & Wong (1996) forms for ``k >= 2`` readers (or passes):
ICC(1,1) one-way random; ICC(2,1) two-way random, absolute agreement; ICC(3,1) two-way mixed,
consistency; and their average-measure versions ICC(1,k), ICC(2,k), ICC(3,k). Each comes with a 95 %
confidence interval from the F distribution (the same closed forms pingouin and R ``psych::ICC`` use).
One two-way ANOVA per feature is computed for all features at once on a ``(features, cases, readers)``
array, so 1874 features x 74 cases x 2 readers take a few milliseconds.

Nothing is silently NaN: cases missing for a reader are dropped and listed, features without any
variation get the category ``constant``, features with missing values use their complete cases and are
listed, and non-finite results get the category ``undefined``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import fdtri  # the F distribution's quantile: scipy.stats.f.ppf(q, a, b) == fdtri(a, b, q)

from nbrisk.errors import InputError
from nbrisk.io.csvcheck import check_delimiter

logger = logging.getLogger(__name__)

FORMS: tuple[str, ...] = ("ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)", "ICC(3,k)")
FORM_DESCRIPTIONS = {
    "ICC(1,1)": "one-way random effects, single reader",
    "ICC(2,1)": "two-way random effects, absolute agreement, single reader",
    "ICC(3,1)": "two-way mixed effects, consistency, single reader",
    "ICC(1,k)": "one-way random effects, mean of k readers",
    "ICC(2,k)": "two-way random effects, absolute agreement, mean of k readers",
    "ICC(3,k)": "two-way mixed effects, consistency, mean of k readers",
}
DEFAULT_FORM = "ICC(2,1)"
_ALIASES = {
    "ICC1": "ICC(1,1)",
    "ICC2": "ICC(2,1)",
    "ICC3": "ICC(3,1)",
    "ICC1K": "ICC(1,k)",
    "ICC2K": "ICC(2,k)",
    "ICC3K": "ICC(3,k)",
    "ICC(A,1)": "ICC(2,1)",
    "ICC(C,1)": "ICC(3,1)",
    "ICC(A,K)": "ICC(2,k)",
    "ICC(C,K)": "ICC(3,k)",
}
# Koo & Li (2016): poor < 0.5 <= moderate < 0.75 <= good < 0.9 <= excellent
CATEGORY_BOUNDS: tuple[tuple[float, str], ...] = ((0.5, "poor"), (0.75, "moderate"), (0.9, "good"))
CATEGORIES = ("poor", "moderate", "good", "excellent", "constant", "undefined")
ID_COLUMNS = ("case_id", "reader", "pass", "repeat")
COLUMNS = ["feature", "form", "icc", "ci_low", "ci_high", "category"]


def normalize_form(form: str) -> str:
    """Return the canonical name of an ICC form (accepts pingouin's ``ICC2k``/``ICC(A,1)`` spellings)."""
    if form in FORMS:
        return form
    key = form.strip().upper().replace(" ", "")
    canon = {f.upper(): f for f in FORMS}
    if key in canon:
        return canon[key]
    if key in _ALIASES:
        return _ALIASES[key]
    raise InputError(f"unknown ICC form {form!r}; use one of {', '.join(FORMS)}")


def koo_li_category(icc: np.ndarray | float) -> np.ndarray:
    """Return the Koo & Li category of each ICC value (``undefined`` where it is not finite)."""
    v = np.atleast_1d(np.asarray(icc, dtype=float))
    out = np.full(v.shape, "excellent", dtype=object)
    for bound, name in reversed(CATEGORY_BOUNDS):
        out[v < bound] = name
    out[~np.isfinite(v)] = "undefined"
    return out


# ------------------------------------------------------------------------------------ closed forms
@dataclass(frozen=True, slots=True)
class MeanSquares:
    """Two-way ANOVA mean squares per feature: between cases (msr), readers (msc), residual, within."""

    msr: np.ndarray
    msc: np.ndarray
    mse: np.ndarray
    msw: np.ndarray
    n: int
    k: int


def mean_squares(y: np.ndarray) -> MeanSquares:
    """Compute the ANOVA mean squares of ``y`` shaped (features, cases, readers), without missing values."""
    y = np.asarray(y, dtype=float)
    if y.ndim == 2:
        y = y[None]
    f, n, k = y.shape
    # (features, readers, cases): numpy reduces a short last axis (2 readers) slowly, contiguous rows fast
    yt = np.ascontiguousarray(y.transpose(0, 2, 1))
    row = yt.mean(axis=1, keepdims=True)  # case means (features, 1, cases)
    col = yt.mean(axis=2, keepdims=True)  # reader means (features, readers, 1)
    grand = col.mean(axis=1, keepdims=True)
    dev = yt - row  # one temporary, reused
    flat = dev.reshape(f, -1)
    ss_within = np.einsum("fi,fi->f", flat, flat)
    dev -= col - grand
    ss_err = np.einsum("fi,fi->f", flat, flat)
    r, c = (row - grand)[:, 0, :], (col - grand)[:, :, 0]
    ss_rows = k * np.einsum("fi,fi->f", r, r)
    ss_cols = n * np.einsum("fj,fj->f", c, c)
    return MeanSquares(
        ss_rows / (n - 1), ss_cols / (k - 1), ss_err / ((n - 1) * (k - 1)), ss_within / (n * (k - 1)), n, k
    )


def icc_arrays(y: np.ndarray, alpha: float = 0.05) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Return ``{form: (icc, ci_low, ci_high)}`` for ``y`` shaped (features, cases, readers).

    Formulas: Shrout & Fleiss (1979) for the estimates and the ICC(1,*) / ICC(3,*) intervals;
    McGraw & Wong (1996) with Satterthwaite's degrees of freedom for the ICC(2,*) intervals.
    """
    ms = mean_squares(y)
    n, k = ms.n, ms.k
    if n < 2 or k < 2:
        raise InputError(f"ICC needs at least 2 cases and 2 readers (have {n} cases, {k} readers)")
    msr, msc, mse, msw = ms.msr, ms.msc, ms.mse, ms.msw
    q = 1 - alpha / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        icc1 = (msr - msw) / (msr + (k - 1) * msw)
        icc2 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
        icc3 = (msr - mse) / (msr + (k - 1) * mse)
        icc1k = (msr - msw) / msr
        icc2k = (msr - mse) / (msr + (msc - mse) / n)
        icc3k = (msr - mse) / msr
        df1, df_w, df_e = n - 1, n * (k - 1), (n - 1) * (k - 1)
        f1 = msr / msw
        f1l, f1u = f1 / fdtri(df1, df_w, q), f1 * fdtri(df_w, df1, q)
        f3 = msr / mse
        f3l, f3u = f3 / fdtri(df1, df_e, q), f3 * fdtri(df_e, df1, q)
        fj = msc / mse
        a = n * (1 + (k - 1) * icc2) - k * icc2
        v = df_e * (k * icc2 * fj + a) ** 2 / (df1 * k**2 * icc2**2 * fj**2 + a**2)
        f2u, f2l = fdtri(df1, v, q), fdtri(v, df1, q)
        l2 = n * (msr - f2u * mse) / (f2u * (k * msc + (k * n - k - n) * mse) + n * msr)
        u2 = n * (f2l * msr - mse) / (k * msc + (k * n - k - n) * mse + n * f2l * msr)
        return {
            "ICC(1,1)": (icc1, (f1l - 1) / (f1l + k - 1), (f1u - 1) / (f1u + k - 1)),
            "ICC(2,1)": (icc2, l2, u2),
            "ICC(3,1)": (icc3, (f3l - 1) / (f3l + k - 1), (f3u - 1) / (f3u + k - 1)),
            "ICC(1,k)": (icc1k, 1 - 1 / f1l, 1 - 1 / f1u),
            "ICC(2,k)": (icc2k, l2 * k / (1 + l2 * (k - 1)), u2 * k / (1 + u2 * (k - 1))),
            "ICC(3,k)": (icc3k, 1 - 1 / f3l, 1 - 1 / f3u),
        }


# ------------------------------------------------------------------------------------ input tables
@dataclass(frozen=True)
class Ratings:
    """Feature values as a (features, cases, readers) array, with what was left out and why."""

    values: np.ndarray
    features: list[str]
    cases: list[str]
    readers: list[str]
    dropped_cases: dict[str, str] = field(default_factory=dict)  # case -> reason
    skipped_columns: dict[str, str] = field(default_factory=dict)  # column -> reason


def _split_long(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    if "reader" not in df.columns:
        raise InputError(
            "feature table has no 'reader' column; give one table per reader or add a reader column"
        )
    if {"feature", "value"} <= set(df.columns):  # tidy: case_id, reader, feature, value
        df = df.pivot_table(
            index=["case_id", "reader"], columns="feature", values="value", aggfunc="first", sort=False
        ).reset_index()
    readers = [str(r) for r in pd.unique(df["reader"].astype(str))]
    return {r: df[df["reader"].astype(str) == r].drop(columns=["reader"]) for r in readers}


def _as_reader_tables(features_by_reader: object, readers: Sequence[str] | None) -> dict[str, pd.DataFrame]:
    if isinstance(features_by_reader, pd.DataFrame):
        tables = _split_long(features_by_reader)
    elif isinstance(features_by_reader, Mapping):
        tables = {str(r): t for r, t in features_by_reader.items()}
    else:
        seq = list(features_by_reader)  # type: ignore[call-overload]
        names = list(readers) if readers is not None else [f"reader{i + 1}" for i in range(len(seq))]
        if len(names) != len(seq):
            raise InputError(
                f"{len(names)} reader names for {len(seq)} feature tables; give one name per table"
            )
        tables = dict(zip(names, seq, strict=True))
    if len(tables) < 2:
        raise InputError(
            f"ICC needs feature tables from at least 2 readers (have {len(tables)}: {list(tables)})"
        )
    for r, t in tables.items():
        if "case_id" not in t.columns:
            raise InputError(f"feature table of reader {r} has no 'case_id' column; add it")
        dup = t["case_id"][t["case_id"].duplicated()].astype(str).tolist()
        if dup:
            raise InputError(f"reader {r} has case(s) {dup[:5]} more than once; keep one row per case")
    return tables


def ratings_from_tables(features_by_reader: object, readers: Sequence[str] | None = None) -> Ratings:
    """Align per-reader feature tables on ``case_id`` and feature name into a ratings array.

    Accepts one DataFrame with a ``reader`` column (wide, or tidy ``feature``/``value``), a mapping
    reader -> DataFrame, or a list of DataFrames (names from ``readers``). Cases absent for some reader
    and columns that are absent for some reader or not numeric are left out and reported.
    """
    tables = _as_reader_tables(features_by_reader, readers)
    names = list(tables)
    skipped: dict[str, str] = {}
    first = tables[names[0]]
    candidates = [c for c in first.columns if c not in ID_COLUMNS]
    for c in {c for t in tables.values() for c in t.columns if c not in ID_COLUMNS} - set(candidates):
        skipped[str(c)] = f"absent for reader {names[0]}"
    dtypes = {r: dict(zip(t.columns, t.dtypes, strict=True)) for r, t in tables.items()}
    numeric = {dt: pd.api.types.is_numeric_dtype(dt) for d in dtypes.values() for dt in set(d.values())}
    everywhere = set.intersection(*(set(d) for d in dtypes.values()))
    not_numeric = {c for d in dtypes.values() for c, dt in d.items() if not numeric[dt]}
    features = []
    for c in candidates:  # one pass over up to thousands of columns: set look-ups only
        if c not in everywhere:
            skipped[str(c)] = f"absent for reader(s) {', '.join(r for r in names if c not in dtypes[r])}"
        elif c in not_numeric or str(c).startswith("diagnostics_"):
            skipped[str(c)] = "not numeric"
        else:
            features.append(c)
    if not features:
        raise InputError("no numeric feature column is shared by all readers' tables; check the column names")
    case_lists = {r: list(t["case_id"].astype(str)) for r, t in tables.items()}
    case_sets = {r: set(cs) for r, cs in case_lists.items()}
    all_cases = list(dict.fromkeys(c for r in names for c in case_lists[r]))
    dropped = {}
    for c in all_cases:
        absent = [r for r in names if c not in case_sets[r]]
        if absent:
            dropped[c] = f"missing for reader(s) {', '.join(absent)}"
    cases = [c for c in all_cases if c not in dropped]
    cube = np.stack(  # rows picked by position: case ids are unique per reader (checked above)
        [t[features].to_numpy(dtype=float)[pd.Index(case_lists[r]).get_indexer(cases)].T for r, t in tables.items()],
        axis=2,
    )  # (features, cases, readers), one copy
    return Ratings(
        cube,
        [str(f) for f in features],
        cases,
        names,
        dropped,
        skipped,
    )


# ------------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class IccResult:
    """The long ICC table and everything that was dropped or special-cased on the way."""

    table: pd.DataFrame  # feature, form, icc, ci_low, ci_high, category
    n_cases: int
    readers: list[str]
    dropped_cases: dict[str, str]
    skipped_columns: dict[str, str]
    constant_features: list[str]
    incomplete_features: dict[str, int]  # feature -> number of complete cases used
    alpha: float = 0.05

    def report(self) -> dict:
        """Return a JSON-ready summary of the inputs, exclusions and category counts."""
        return {
            "n_cases": self.n_cases,
            "readers": self.readers,
            "n_features": int(self.table["feature"].nunique()),
            "alpha": self.alpha,
            "dropped_cases": self.dropped_cases,
            "skipped_columns": self.skipped_columns,
            "constant_features": self.constant_features,
            "incomplete_features": self.incomplete_features,
            "category_counts": category_counts(self.table).to_dict(orient="index"),
        }


def compute_icc(
    features_by_reader: object, readers: Sequence[str] | None = None, alpha: float = 0.05
) -> IccResult:
    """Compute all six ICC forms for every feature (see :func:`ratings_from_tables` for inputs)."""
    rt = ratings_from_tables(features_by_reader, readers)
    for case, why in rt.dropped_cases.items():
        logger.warning("ICC: case %s left out (%s)", case, why)
    y = rt.values.copy()
    y[~np.isfinite(y)] = np.nan
    n_f, n, _ = y.shape
    if n < 2:
        raise InputError(
            f"ICC needs at least 2 cases rated by every reader (have {n}; dropped: "
            f"{dict(list(rt.dropped_cases.items())[:5])})"
        )
    finite = ~np.isnan(y)
    complete = np.logical_and.reduce([finite[:, :, j] for j in range(y.shape[2])])  # (features, cases)
    # reductions on (features, cases x readers) rows: numpy reduces the short readers axis slowly
    hi = (y if complete.all() else np.where(finite, y, -np.inf)).reshape(n_f, -1).max(axis=1)
    lo = (y if complete.all() else np.where(finite, y, np.inf)).reshape(n_f, -1).min(axis=1)
    constant = hi == lo
    est = {form: (np.full(n_f, np.nan), np.full(n_f, np.nan), np.full(n_f, np.nan)) for form in FORMS}
    incomplete: dict[str, int] = {}
    if complete.all():
        patterns, inverse = np.ones((1, n), bool), np.zeros(n_f, int)
    else:
        patterns, inverse = np.unique(complete, axis=0, return_inverse=True)
    for p_idx, pattern in enumerate(patterns):
        idx = np.flatnonzero((inverse.ravel() == p_idx) & ~constant)
        if idx.size == 0:
            continue
        if not pattern.all():
            incomplete.update({rt.features[i]: int(pattern.sum()) for i in idx})
        if pattern.sum() < 2:
            continue
        res = icc_arrays(y if idx.size == n_f and pattern.all() else y[idx][:, pattern, :], alpha)
        for form in FORMS:
            for slot, arr in zip(est[form], res[form], strict=True):
                slot[idx] = arr
    constant_names = [rt.features[i] for i in np.flatnonzero(constant)]
    if constant_names:
        logger.warning("ICC: %d constant feature(s) reported with category 'constant'", len(constant_names))
    icc = np.column_stack([est[f][0] for f in FORMS])  # (features, forms), feature-major rows
    cat = koo_li_category(icc.ravel()).reshape(icc.shape)
    cat[constant] = "constant"
    table = pd.DataFrame(
        {
            "feature": np.repeat(np.array(rt.features, dtype=object), len(FORMS)),
            "form": np.tile(np.array(FORMS, dtype=object), n_f),
            "icc": icc.ravel(),
            "ci_low": np.column_stack([est[f][1] for f in FORMS]).ravel(),
            "ci_high": np.column_stack([est[f][2] for f in FORMS]).ravel(),
            "category": cat.ravel(),
        }
    )
    return IccResult(
        table, n, rt.readers, rt.dropped_cases, rt.skipped_columns, constant_names, incomplete, alpha
    )


def icc_table(
    features_by_reader: object, readers: Sequence[str] | None = None, alpha: float = 0.05
) -> pd.DataFrame:
    """Return the long ICC table ``feature, form, icc, ci_low, ci_high, category`` (report in ``.attrs``)."""
    result = compute_icc(features_by_reader, readers, alpha)
    table = result.table
    table.attrs["report"] = result.report()
    return table


def kept_features(
    icc_df: pd.DataFrame, threshold: float = 0.75, form: str = DEFAULT_FORM, bound: str = "icc"
) -> list[str]:
    """Return features whose ICC (or its ``ci_low`` bound) for ``form`` is >= ``threshold``, in table order.

    Constant and undefined features are never kept.
    """
    form = normalize_form(form)
    if bound not in ("icc", "ci_low"):
        raise InputError(f"bound must be 'icc' or 'ci_low', not {bound!r}")
    rows = icc_df[icc_df["form"] == form]
    if rows.empty:
        raise InputError(
            f"the ICC table has no rows for {form}; forms present: {sorted(icc_df['form'].unique())}"
        )
    ok = rows[bound].to_numpy(dtype=float) >= threshold
    ok &= ~rows["category"].isin(["constant", "undefined"]).to_numpy()
    return rows.loc[ok, "feature"].astype(str).tolist()


def category_counts(icc_df: pd.DataFrame) -> pd.DataFrame:
    """Count features per Koo & Li category for each form (rows: forms, columns: categories)."""
    form = pd.Categorical(icc_df["form"], categories=FORMS).codes.astype(np.int64)
    cat = pd.Categorical(icc_df["category"], categories=CATEGORIES).codes.astype(np.int64)
    ok = (form >= 0) & (cat >= 0)  # -1: a form or category outside the known ones (not counted)
    counts = np.bincount(form[ok] * len(CATEGORIES) + cat[ok], minlength=len(FORMS) * len(CATEGORIES))
    present = np.bincount(form[form >= 0], minlength=len(FORMS)) > 0
    return pd.DataFrame(counts.reshape(len(FORMS), len(CATEGORIES))[present],
                        index=[f for f, p in zip(FORMS, present, strict=True) if p], columns=list(CATEGORIES))


def read_feature_tables(paths: Sequence[str | Path], readers: Sequence[str] | None = None
                        ) -> tuple[object, list[str] | None]:
    """Read the CSVs into what :func:`nbrisk.reproducibility.icc.compute_icc` takes (one table with readers, or a
    list)."""
    tables = []
    for path in map(Path, paths):
        if not path.is_file():
            raise InputError(f"{path}: feature table not found; check the path")
        check_delimiter(path, "feature table")
        try:
            tables.append(pd.read_csv(path, dtype={"case_id": str, "reader": str}))
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: not a readable CSV ({type(exc).__name__}); export it again") from None
    if len(tables) == 1:
        if "reader" not in tables[0].columns:
            raise InputError(f"{paths[0]}: one table needs a 'reader' column; or give one CSV per reader")
        return tables[0], None
    names = list(readers) if readers else [Path(p).name.removesuffix(".csv") for p in paths]
    if len(set(names)) != len(names):
        raise InputError(f"reader names {names} repeat; name the CSVs differently or pass --readers")
    return tables, names
