"""Read and align the tables a model is trained on: features, labels and clinical inputs.

Features: ``case_id`` (+ optional single-valued ``reader``) then one numeric column per feature.
Labels: ``case_id,label`` (0/1 or two named classes with a declared positive class) or
``case_id,time,event`` (survival; time in months, event 1 = progression/death). Clinical: ``case_id``
plus the columns a recipe declares. Every problem is an :class:`~nbrisk.errors.InputError` that names the
file and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from nbrisk.errors import InputError
from nbrisk.io.csvcheck import check_delimiter
from nbrisk.modeling.radscore import to_structured
from nbrisk.modeling.recipe import ClinicalInput, Recipe

Table: TypeAlias = pd.DataFrame | str | Path


@dataclass
class Dataset:
    """Aligned inputs: ``X`` (features then clinical columns, index case_id) and target ``y``."""

    X: pd.DataFrame
    y: np.ndarray  # 0/1 ints, or structured (event, time) for survival
    kind: str
    feature_names: list[str]
    clinical: tuple[ClinicalInput, ...] = ()
    positive_class: Any = 1
    classes: list[Any] = field(default_factory=list)

    @property
    def case_ids(self) -> list[str]:
        return [str(c) for c in self.X.index]


def _read(table: Table, what: str) -> tuple[pd.DataFrame, str]:
    if isinstance(table, pd.DataFrame):
        df, name = table.copy(), f"{what} table"
    else:
        path = Path(table)
        if not path.is_file():
            raise InputError(f"{path}: {what} file not found; check the path")
        check_delimiter(path, what)
        try:
            df = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read {what} CSV ({exc}); save it as comma-separated text") from exc
        name = str(path)
    if df.index.name == "case_id":
        df = df.reset_index()
    if "case_id" not in df.columns:
        raise InputError(f"{name}: no 'case_id' column; add one (the first column must be case_id)")
    df["case_id"] = df["case_id"].astype(str)
    dup = df["case_id"][df["case_id"].duplicated()].unique()
    if len(dup):
        raise InputError(f"{name}: case_id {dup[0]!r} appears {int((df['case_id'] == dup[0]).sum())} times "
                         "(several readers?); give one row per case")
    return df.set_index("case_id"), name


def read_features(table: Table) -> pd.DataFrame:
    """Return the numeric feature table indexed by case_id (no NaN allowed)."""
    df, name = _read(table, "features")
    if "reader" in df.columns:
        df = df.drop(columns="reader")
    non_num = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if non_num:
        raise InputError(f"{name}: non-numeric feature column(s) {non_num[:3]}; remove them or pass only "
                         "feature values")
    if df.shape[1] == 0:
        raise InputError(f"{name}: no feature columns after case_id")
    bad = df.columns[~np.isfinite(df.to_numpy(dtype=float)).all(axis=0)]
    if len(bad):
        raise InputError(f"{name}: NaN/inf in {len(bad)} feature column(s), e.g. {list(bad[:3])}; re-extract "
                         "those cases or drop the columns")
    return df.astype(float)


def read_labels(table: Table, positive: Any = None) -> tuple[str, pd.DataFrame, Any, list[Any]]:
    """Return (kind, labels indexed by case_id, positive class, classes)."""
    df, name = _read(table, "labels")
    if {"time", "event"} <= set(df.columns):
        return "survival", _survival_labels(df, name), None, []
    if "label" not in df.columns:
        raise InputError(f"{name}: need a 'label' column (classification) or 'time' and 'event' (survival)")
    lab = df["label"]
    if lab.isna().any():
        raise InputError(f"{name}: {int(lab.isna().sum())} case(s) without a label; fill or remove them")
    classes = sorted(lab.unique().tolist(), key=str)
    if len(classes) < 2:
        raise InputError(f"{name}: only one class ({classes[0]!r}) present; a classifier needs two classes")
    if len(classes) > 2:
        raise InputError(f"{name}: {len(classes)} classes {classes[:5]}; only binary labels are supported: "
                         "give two classes (e.g. merge or drop one)")
    if positive is None:
        if set(map(str, classes)) <= {"0", "1", "0.0", "1.0"}:
            positive = next(c for c in classes if str(c) in ("1", "1.0"))
        else:
            raise InputError(f"{name}: labels are named {classes}; declare the positive class (--positive NAME)")
    matches = [c for c in classes if str(c) == str(positive)]
    if not matches:
        raise InputError(f"{name}: positive class {positive!r} is not among the labels {classes}")
    positive = matches[0]
    out = pd.DataFrame({"label": (lab == positive).astype(int)}, index=df.index)
    return "classification", out, positive, classes


def _survival_labels(df: pd.DataFrame, name: str) -> pd.DataFrame:
    t = pd.to_numeric(df["time"], errors="coerce")
    e = pd.to_numeric(df["event"], errors="coerce")
    if t.isna().any() or e.isna().any() or not e.isin([0, 1]).all():
        raise InputError(f"{name}: 'time' must be numeric (months) and 'event' 0 or 1 in every row")
    if (t <= 0).any():
        raise InputError(f"{name}: {int((t <= 0).sum())} case(s) with time <= 0; follow-up time must be positive")
    if e.sum() < 2:
        raise InputError(f"{name}: fewer than two events; a survival model needs events to learn from")
    return pd.DataFrame({"time": t.astype(float), "event": e.astype(int)}, index=df.index)


def read_clinical(table: Table, inputs: tuple[ClinicalInput, ...]) -> pd.DataFrame:
    """Return the declared clinical columns (typed) indexed by case_id."""
    df, name = _read(table, "clinical")
    missing = [c.name for c in inputs if c.name not in df.columns]
    if missing:
        raise InputError(f"{name}: required clinical column(s) {missing} absent; add them (the recipe declares "
                         f"{[c.name for c in inputs]})")
    out = pd.DataFrame(index=df.index)
    for c in inputs:
        col = df[c.name]
        if c.type == "numeric":
            num = pd.to_numeric(col, errors="coerce")
            if (num.isna() & col.notna()).any():
                raise InputError(f"{name}: clinical column '{c.name}' is declared numeric but has text values")
            out[c.name] = num.astype(float)
        else:
            out[c.name] = col.astype(object).where(col.notna(), np.nan).map(lambda v: v if v is np.nan else str(v))
        if c.missing == "error" and out[c.name].isna().any():
            raise InputError(f"{name}: clinical column '{c.name}' has missing values and the recipe says "
                             "missing: error; fill them")
    return out


def infer_clinical(table: Table) -> tuple[ClinicalInput, ...]:
    """Declare every column of a clinical table (numeric if it parses as numbers, else categorical)."""
    df, _ = _read(table, "clinical")
    out = []
    for c in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[c])
        out.append(ClinicalInput(name=str(c), type="numeric" if numeric else "categorical",
                                 missing="median" if numeric else "most_frequent"))
    return tuple(out)


def batch_column(recipe: Recipe) -> str | None:
    """The batch (centre/scanner) column a recipe's ``combat`` step harmonises over, or None."""
    for n, p in recipe.steps:
        if n == "combat":
            return str(p.get("batch", "centre"))
    return None


def read_batch(table: Table, column: str, ids: pd.Index) -> pd.Series:
    """The batch column (as text) of a manifest/batch table, one value for every case in ``ids``."""
    df, name = _read(table, "batch")
    if column not in df.columns:
        raise InputError(f"{name}: no column '{column}' (the recipe's combat step harmonises over it); "
                         f"columns are {list(df.columns)[:8]}")
    missing = ids.difference(df.index)
    if len(missing):
        raise InputError(f"{name}: {len(missing)} case(s) have no row (e.g. {list(missing[:3])}); list every case")
    col = df.loc[ids, column]
    if col.isna().any():
        raise InputError(f"{name}: {int(col.isna().sum())} case(s) without a '{column}' value; fill them")
    return col.astype(str)


def prepare(features: Table, labels: Table, recipe: Recipe, clinical: Table | None = None,
            keep: list[str] | None = None, positive: Any = None,
            batch: Table | None = None) -> tuple[Dataset, Recipe]:
    """Read, check and align everything; returns the dataset and the recipe with its clinical inputs.

    ``batch``: the manifest (or any case_id table) holding the centre/scanner column of a ``combat`` step;
    that column is appended to X (it is not a feature).
    """
    feats = read_features(features)
    kind, lab, pos, classes = read_labels(labels, positive)
    if kind != recipe.kind:
        raise InputError(f"recipe {recipe.name} is a {recipe.kind} recipe but the labels are {kind} "
                         f"({'time,event' if kind == 'survival' else 'label'} columns); pick a matching recipe")
    if recipe.clinical and clinical is None:
        raise InputError(f"recipe {recipe.name} needs clinical inputs {[c.name for c in recipe.clinical]}; "
                         "pass --clinical clinical.csv")
    if clinical is not None and not recipe.clinical:
        recipe = recipe.with_clinical(infer_clinical(clinical))
    _check_ids(feats.index, lab.index, _table_name(features, "features"), _table_name(labels, "labels"))
    lab = lab.loc[feats.index]
    X = feats
    if keep:
        kept = [c for c in feats.columns if c in set(keep)]
        if not kept:
            raise InputError(f"the kept-feature list shares no name with the columns of "
                             f"{_table_name(features, 'features')} (e.g. {keep[0]!r}); check --keep")
        X = feats[kept]
    feature_names = list(X.columns)
    if recipe.clinical:
        clin = read_clinical(clinical, recipe.clinical)  # type: ignore[arg-type]
        _check_ids(feats.index, clin.index, _table_name(features, "features"), _table_name(clinical, "clinical"),
                   subset_ok=True)
        clin = clin.loc[feats.index]
        clash = set(clin.columns) & set(feature_names)
        if clash:
            raise InputError(f"clinical column(s) {sorted(clash)} also appear as features; rename them")
        drop = [c.name for c in recipe.clinical if c.missing == "drop"]
        X = pd.concat([X, clin], axis=1)
        if drop:
            ok = clin[drop].notna().all(axis=1)
            X, lab = X.loc[ok], lab.loc[ok]
    bcol = batch_column(recipe)
    if bcol is not None:
        if batch is None:
            raise InputError(f"recipe {recipe.name} harmonises features with ComBat over '{bcol}'; pass the "
                             f"manifest with that column: --batch-table manifest.csv")
        if bcol in X.columns:
            raise InputError(f"the batch column '{bcol}' is also a feature or clinical column; rename it")
        X = pd.concat([X, read_batch(batch, bcol, X.index).rename(bcol)], axis=1)
    y = (to_structured(lab["event"].to_numpy().astype(bool), lab["time"].to_numpy())
         if kind == "survival" else lab["label"].to_numpy().astype(int))
    return Dataset(X=X, y=y, kind=kind, feature_names=feature_names, clinical=recipe.clinical,
                   positive_class=pos, classes=classes), recipe


def _table_name(table: Table | None, what: str) -> str:
    return what if table is None or isinstance(table, pd.DataFrame) else str(table)


def _check_ids(a: pd.Index, b: pd.Index, name_a: str, name_b: str, subset_ok: bool = False) -> None:
    only_a = a.difference(b)
    only_b = b.difference(a)
    if len(only_a):
        raise InputError(f"{len(only_a)} case(s) in {name_a} have no row in {name_b} (e.g. {list(only_a[:3])}); "
                         "give the same case_ids in both files")
    if len(only_b) and not subset_ok:
        raise InputError(f"{len(only_b)} case(s) in {name_b} have no row in {name_a} (e.g. {list(only_b[:3])}); "
                         "give the same case_ids in both files")
