"""Batch extraction for a cohort manifest, resumable and atomic.

Manifest (CSV): ``case_id,image,mask`` plus optional ``label``, ``segment``, ``reader`` and, for
multi-phase presets, ``image_<phase>`` columns instead of ``image``. Relative paths are resolved against
the manifest's folder. Output: ``features.csv`` (``case_id`` [, ``reader``], then one column per feature,
pyradiomics names), ``features.errors.csv`` (failed cases and why) and ``features.provenance.json``
(nbrisk, pyradiomics and preset versions/hashes, date). Each finished case is kept in a hidden parts
folder beside the output, so a killed run loses at most the cases in flight, and a re-run resumes.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import logging
import os
import platform
import shutil
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbrisk import __version__
from nbrisk.errors import InputError, MissingDependencyError, NBRiskError, naming_mask
from nbrisk.features import preprocess
from nbrisk.features.case import load_row_inputs
from nbrisk.features.extract import extract_features, pyradiomics_version
from nbrisk.features.presets import Preset, load_preset
from nbrisk.io.csvcheck import check_delimiter
from nbrisk.io.images import atomic_path
from nbrisk.io.outputs import output_lock

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)
KEY_COLUMNS = ("case_id", "reader")


@dataclass(frozen=True)
class CohortResult:
    out_csv: Path
    errors_csv: Path
    provenance_json: Path
    n_cases: int
    n_extracted: int
    n_skipped: int
    n_failed: int

    @property
    def ok(self) -> bool:
        return self.n_failed == 0


def sidecar_paths(out_csv: Path) -> tuple[Path, Path, Path]:
    stem = out_csv.name[: -len(".csv")] if out_csv.name.endswith(".csv") else out_csv.name
    return (out_csv.with_name(f"{stem}.errors.csv"), out_csv.with_name(f"{stem}.provenance.json"),
            out_csv.with_name(f".{stem}.parts"))


def read_manifest(path: str | Path, preset: Preset | None = None) -> pd.DataFrame:
    """Read and check a manifest; return it with absolute paths and a string ``case_id``."""
    import pandas as pd  # here, not at import: extraction workers import this module and need no pandas

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: manifest not found; give a CSV with case_id,image,mask columns")
    check_delimiter(path, "manifest")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: not a readable CSV ({(str(exc).splitlines() or [''])[0][:100]}); save the manifest "
                         "as comma-separated text with columns case_id,image,mask") from None
    df.columns = [c.strip() for c in df.columns]
    phases = list(preset.phases) if preset is not None else []
    image_cols = [f"image_{p}" for p in phases] if phases else ["image"]
    need = ["case_id", *image_cols, "mask"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}; add them (a manifest needs {','.join(need)})")
    if df.empty:
        raise InputError(f"{path}: manifest has no rows; add one row per case under the header")
    keys = ["case_id", "reader"] if "reader" in df.columns else ["case_id"]
    dup = df[df.duplicated(keys, keep=False)]
    if not dup.empty:
        raise InputError(f"{path}: duplicate {'/'.join(keys)} {dup[keys].iloc[0].tolist()}; give each row a unique "
                         f"{'/'.join(keys)}")
    if (df["case_id"].str.strip() == "").any():
        raise InputError(f"{path}: empty case_id in row {int((df['case_id'].str.strip() == '').idxmax()) + 2}; "
                         "give every row a case_id")
    if "label" in df.columns:
        bad = [v for v in df["label"] if v.strip() and not v.strip().lstrip("-").isdigit()]
        if bad:
            raise InputError(f"{path}: label {bad[0]!r} is not an integer label value; give the mask's label "
                             "value (e.g. 1) or leave it empty")
    base = path.parent
    for col in [*image_cols, "mask"]:
        df[col] = [str((base / v).resolve()) if v and not os.path.isabs(v) else v for v in df[col]]
    return df


def _row_key(row: dict[str, Any]) -> tuple[str, str]:
    return (str(row["case_id"]), str(row.get("reader", "") or ""))


def extract_row(row: dict[str, Any], preset_ref: str, options: dict[str, Any]) -> dict[str, Any]:
    """Extract one manifest row (runs in a worker process); returns {'key', 'values'|'error'}."""
    import warnings

    _quiet_radiomics()
    preset = load_preset(preset_ref)
    key = _row_key(row)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            engine = options.get("engine", "nbrisk")
            image, mask = load_row_inputs(row, preset, resample_mask=bool(options.get("resample_mask")),
                                          roi_only=engine == "nbrisk")
            with naming_mask(row["mask"]):
                fv = extract_features(image, mask.image, preset, engine=engine, whole=mask.whole)
        return {"key": key, "values": fv.values}
    except NBRiskError as exc:
        return {"key": key, "error": str(exc)}
    except Exception as exc:  # keep the cohort going; the message names the case
        logger.debug("unexpected failure on %s", key, exc_info=True)
        return {"key": key, "error": f"unexpected {type(exc).__name__}: {str(exc)[:200]}"}


def extract_rows(rows: list[dict[str, Any]], preset_ref: str, options: dict[str, Any]) -> list[dict[str, Any]]:
    """Extract rows that share their image(s), e.g. a case's readers, back to back in one worker.

    The preset's whole-image preprocessing (N4) then runs once for all of them
    (:func:`nbrisk.features.extract._n4_once`).
    """
    return [extract_row(r, preset_ref, options) for r in rows]


def _image_paths(row: dict[str, Any]) -> tuple[str, ...]:
    """A row's image path(s): ``image`` and the ``image_<phase>`` columns, in column-name order."""
    return tuple(str(row[k]) for k in sorted(row) if k == "image" or k.startswith("image_"))


def image_groups(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows grouped by their image path(s), groups in order of first appearance, rows in manifest order."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(_image_paths(r), []).append(r)
    return list(groups.values())


def largest_first(groups: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """The groups in decreasing order of their files' size: the largest cases start first.

    With several workers, a large case that starts last keeps one worker busy while the others idle; starting
    the longest jobs first (LPT scheduling) bounds that tail. The size of the files on disk (images once per
    group, every reader's mask) is a cost estimate that needs no reading. Only the order of the work changes:
    the output keeps the manifest's order.
    """
    def size(path: str) -> int:
        try:
            p = Path(path)
            if p.is_dir():  # a DICOM series
                return sum(f.stat().st_size for f in p.iterdir() if f.is_file())
            return p.stat().st_size
        except OSError:  # a missing file fails in the worker, with its own message
            return 0

    def cost(g: list[dict[str, Any]]) -> int:
        return sum(size(f) for f in set(_image_paths(g[0]))) + sum(size(str(r["mask"])) for r in g)

    costs = [cost(g) for g in groups]
    order = sorted(range(len(groups)), key=lambda i: -costs[i])  # stable: equal sizes keep manifest order
    return [groups[i] for i in order]


def _quiet_radiomics() -> None:
    try:
        import radiomics

        radiomics.setVerbosity(logging.ERROR)
        logging.getLogger("radiomics").setLevel(logging.ERROR)
    except ImportError:  # pragma: no cover
        pass


def _part_name(key: tuple[str, str]) -> str:
    import hashlib

    return hashlib.sha1(json.dumps(key).encode()).hexdigest() + ".json"


def _load_parts(parts: Path) -> dict[tuple[str, str], tuple[dict[str, float], str]]:
    """Finished cases of an interrupted run: key -> (features, digest of the inputs they came from)."""
    done: dict[tuple[str, str], tuple[dict[str, float], str]] = {}
    if parts.is_dir():
        for f in parts.glob("*.json"):
            try:
                rec = json.loads(f.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, OSError):
                continue  # an interrupted write: that case is simply redone
            done[tuple(rec["key"])] = (rec["values"], str(rec.get("inputs_sha256", "")))  # type: ignore[index]
    return done


def _load_existing(out_csv: Path) -> dict[tuple[str, str], dict[str, float]]:
    import pandas as pd

    if not out_csv.is_file():
        return {}
    df = pd.read_csv(out_csv, dtype={"case_id": str, "reader": str}, keep_default_na=False,
                     float_precision="round_trip")  # resumed rows keep every bit of the values written
    feats = [c for c in df.columns if c not in KEY_COLUMNS]
    out = {}
    for rec in df.to_dict("records"):
        key = (str(rec["case_id"]), str(rec.get("reader", "") or ""))
        out[key] = {k: float(rec[k]) if rec[k] != "" else float("nan") for k in feats}
    return out


def provenance(preset: Preset, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    import numpy
    import SimpleITK

    info = {
        "nbrisk_version": __version__,
        "pyradiomics_version": pyradiomics_version(),
        "simpleitk_version": SimpleITK.Version_VersionString(),
        # N4 and the whole-image statistics run with this fixed ITK split (their sums depend on it)
        "simpleitk_fixed_threads": f"N4 {preprocess.FIXED_THREADS}, image statistics {preprocess.STATS_THREADS} "
                                   f"({preprocess.FIXED_THREADER})",
        "numpy_version": numpy.__version__,
        "python_version": platform.python_version(),
        "preset": preset.name,
        "preset_source": preset.source,
        "preset_sha256": preset.sha256,
        "preset_feature_count": preset.feature_count,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
    }
    info.update(extra or {})
    return info


def _check_resume(prov_path: Path, preset: Preset, out_csv: Path) -> None:
    if not prov_path.is_file():
        return
    try:
        old = json.loads(prov_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return
    if old.get("preset_sha256") not in (None, preset.sha256):
        raise InputError(
            f"{out_csv}: existing results were made with preset {old.get('preset')} "
            f"({old.get('preset_sha256', '')[:12]}), "
            f"not {preset.name}; choose another --out or delete the old results"
        )


def write_features_csv(out_csv: Path, results: dict[tuple[str, str], dict[str, float]],
                       order: Iterable[tuple[str, str]], with_reader: bool) -> None:
    """Write the feature table atomically, rows in manifest order."""
    rows = [k for k in order if k in results]
    if not rows:
        return
    columns = list(results[rows[0]])
    with atomic_path(out_csv) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["case_id", *(["reader"] if with_reader else []), *columns])
        for k in rows:
            vals = results[k]
            w.writerow([k[0], *([k[1]] if with_reader else []), *[repr(float(vals[c])) for c in columns]])


def extract_manifest(
    manifest: str | Path,
    preset: str | Preset,
    out_csv: str | Path,
    *,
    jobs: int = 1,
    resume: bool = True,
    resample_mask: bool = False,
    engine: str = "nbrisk",
    progress: Callable[[int, int, str], None] | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    notice: Callable[[str], None] | None = None,
) -> CohortResult:
    """Extract every manifest row; failing cases are recorded and the others continue.

    Resuming keys each finished case on its inputs' content (:func:`inputs_digest`: the image and mask
    bytes, label, segment, preset hash and options), not only on the preset: a case whose image or mask
    was rewritten since is extracted again, and ``notice`` says which. A lock on ``out_csv``
    (:func:`nbrisk.io.outputs.output_lock`) refuses a second concurrent run on the same results.
    """
    p = load_preset(preset)
    out_csv = Path(out_csv)
    errors_csv, prov_path, parts = sidecar_paths(out_csv)
    df = read_manifest(manifest, p)
    with output_lock(out_csv):
        return _extract_locked(df, manifest, p, out_csv, errors_csv, prov_path, parts, jobs=jobs, resume=resume,
                               options={"resample_mask": resample_mask, "engine": engine}, progress=progress,
                               executor=executor, scheduler=scheduler, notice=notice or (lambda _m: None))


def _extract_locked(df: Any, manifest: str | Path, p: Preset, out_csv: Path, errors_csv: Path, prov_path: Path,
                    parts: Path, *, jobs: int, resume: bool, options: dict[str, Any],
                    progress: Callable[[int, int, str], None] | None, executor: str, scheduler: str | None,
                    notice: Callable[[str], None]) -> CohortResult:
    with_reader = "reader" in df.columns
    rows = df.to_dict("records")
    order = [_row_key(r) for r in rows]
    digests = {_row_key(r): inputs_digest(r, p, options) for r in rows}
    done: dict[tuple[str, str], dict[str, float]] = {}
    done_digest: dict[tuple[str, str], str] = {}
    if resume:
        _check_resume(prov_path, p, out_csv)
        old = _load_existing(out_csv)
        recorded = _recorded_digests(prov_path) if old else {}
        done.update(old)
        done_digest.update({k: recorded.get(k, "") for k in old})
        for k, (values, dig) in _load_parts(parts).items():
            done[k], done_digest[k] = values, dig
    else:
        shutil.rmtree(parts, ignore_errors=True)
    done = {k: v for k, v in done.items() if k in digests}
    changed = [k for k in done if done_digest.get(k) != digests[k]]
    if changed:
        unknown = [k for k in changed if not done_digest.get(k)]
        names = ", ".join(k[0] + (f"/{k[1]}" if k[1] else "") for k in changed[:8])
        more = " ..." if len(changed) > 8 else ""
        why = ("their image, mask or options changed" if not unknown else
               "the earlier results recorded no input hashes" if len(unknown) == len(changed) else
               "their inputs changed or were not recorded")
        notice(f"re-extracting {len(changed)} finished case(s) because {why}: {names}{more}")
        for k in changed:
            done.pop(k)
    todo = [r for r in rows if _row_key(r) not in done]
    n_skipped = len(rows) - len(todo)
    if n_skipped:
        notice(f"resuming: {n_skipped} case(s) already extracted from the same inputs are kept")
    parts_existed = parts.exists()
    parts.mkdir(parents=True, exist_ok=True)
    preset_ref = p.source[len("preset ") :] if p.source.startswith("preset ") else p.source
    errors: dict[tuple[str, str], str] = {}
    n_new = 0
    try:
        for i, res in enumerate(_run_rows(todo, preset_ref, options, jobs, executor, scheduler), start=1):
            key = tuple(res["key"])
            if "error" in res:
                errors[key] = res["error"]  # type: ignore[index]
                logger.warning("case %s failed: %s", key[0], res["error"])
            else:
                done[key] = res["values"]  # type: ignore[index]
                done_digest[key] = digests[key]  # type: ignore[index]
                with atomic_path(parts / _part_name(key)) as tmp:  # type: ignore[arg-type]
                    tmp.write_text(json.dumps({"key": list(key), "values": res["values"],
                                               "inputs_sha256": digests[key]}), encoding="utf-8")  # type: ignore[index]
                n_new += 1
            if progress:
                progress(i, len(todo), key[0])
        write_features_csv(out_csv, done, order, with_reader)
        _write_errors(errors_csv, errors, with_reader)
        with atomic_path(prov_path) as tmp:
            tmp.write_text(json.dumps(provenance(p, {
                "manifest": str(Path(manifest).resolve()), "engine": options.get("engine"), "n_cases": len(rows),
                "n_failed": len(errors),
                "inputs_sha256": {_key_text(k): done_digest[k] for k in order if k in done and k in done_digest},
            }), indent=2))
    except BaseException:
        if not parts_existed and parts.is_dir() and not any(parts.iterdir()):
            parts.rmdir()  # nothing finished: leave no empty hidden folder behind
        raise
    if not errors:
        shutil.rmtree(parts, ignore_errors=True)
    return CohortResult(out_csv, errors_csv, prov_path, len(rows), n_new, n_skipped, len(errors))


def _key_text(key: tuple[str, str]) -> str:
    return json.dumps(list(key))


def _recorded_digests(prov_path: Path) -> dict[tuple[str, str], str]:
    try:
        rec = json.loads(prov_path.read_text(encoding="utf-8")).get("inputs_sha256") or {}
    except (OSError, ValueError, AttributeError):
        return {}
    return {tuple(json.loads(k)): v for k, v in rec.items()}  # type: ignore[misc]


def _file_digest(path: Path, h: Any) -> None:
    """Feed a file's bytes (or a folder's files', by sorted name: a DICOM series) into ``h``."""
    files = sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(f"{f.relative_to(path) if path.is_dir() else f.name}\0".encode())
        try:
            with open(f, "rb") as fh:
                while chunk := fh.read(1 << 22):
                    h.update(chunk)
        except OSError:
            h.update(b"<unreadable>")


def inputs_digest(row: dict[str, Any], preset: Preset, options: dict[str, Any]) -> str:
    """SHA-256 over what determines a case's features: the content of its image(s) and mask, its label and
    segment, the preset's hash and the extraction options. Content, not size and time: a file rewritten
    with other voxels in the same second and size still changes the digest."""
    import hashlib

    h = hashlib.sha256()
    h.update(json.dumps({"preset": preset.sha256, "options": options, "label": str(row.get("label", "") or ""),
                         "segment": str(row.get("segment", "") or "")}, sort_keys=True).encode())
    for col in sorted(k for k in row if k == "image" or k.startswith("image_") or k == "mask"):
        h.update(f"\0{col}\0".encode())
        p = Path(str(row[col]))
        if p.exists():
            _file_digest(p, h)
        else:
            h.update(b"<missing>")
    return h.hexdigest()


def _write_errors(errors_csv: Path, errors: dict[tuple[str, str], str], with_reader: bool) -> None:
    if not errors:
        errors_csv.unlink(missing_ok=True)
        return
    with atomic_path(errors_csv) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["case_id", *(["reader"] if with_reader else []), "message"])
        for k, msg in errors.items():
            w.writerow([k[0], *([k[1]] if with_reader else []), msg])


def _run_rows(rows: list[dict[str, Any]], preset_ref: str, options: dict[str, Any], jobs: int,
              executor: str, scheduler: str | None) -> Iterable[dict[str, Any]]:
    if executor == "dask":
        yield from _run_dask(rows, preset_ref, options, scheduler, jobs)
        return
    if executor != "local":
        raise InputError(f"unknown executor {executor!r}; use local or dask")
    groups = image_groups(rows)  # a case's readers go to one worker, back to back: N4 once per image
    if jobs <= 1 or len(groups) <= 1:
        for g in groups:
            for r in g:
                yield extract_row(r, preset_ref, options)
        return
    import multiprocessing as mp

    slot = mp.Value("i", 0)  # each worker takes the next share of the cores
    with ProcessPoolExecutor(max_workers=jobs, initializer=_limit_threads, initargs=(jobs, slot)) as pool:
        futs: list[Future] = [pool.submit(extract_rows, g, preset_ref, options) for g in largest_first(groups)]
        for f in as_completed(futs):
            yield from f.result()


def _limit_threads(jobs: int, slot: Any = None) -> None:
    """In a cohort worker: share the cores between the workers (SimpleITK would use all of them in each).

    With ``slot`` (a shared counter), the worker also binds itself to its own share of the allowed cores
    (:func:`core_share`). N4 always runs on 2 threads (``preprocess.FIXED_THREADS``, for machine-independent
    results); unbound, two workers' N4 threads interleave on the same cores and each parallel step waits for a
    thread the other worker displaced. Bound, those threads take turns on the worker's own core.
    """
    import SimpleITK as sitk

    has_affinity = hasattr(os, "sched_getaffinity")
    cpus = sorted(os.sched_getaffinity(0)) if has_affinity else list(range(os.cpu_count() or 1))
    threads = max(1, len(cpus) // max(1, jobs))  # the allowed cores (a batch job's share), not the machine's
    if slot is not None and has_affinity and not os.environ.get("NBRISK_NO_PIN"):
        with slot.get_lock():
            i = slot.value
            slot.value += 1
        mine = core_share(i, jobs, cpus)
        if mine:
            os.sched_setaffinity(0, mine)
            threads = len(mine)
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)


def core_share(i: int, jobs: int, cpus: list[int]) -> list[int]:
    """The cores worker ``i`` of ``jobs`` binds to: contiguous, disjoint shares covering ``cpus``.

    Empty (no binding) when there are more workers than cores: the kernel balances those better than a fixed
    assignment would.
    """
    n = len(cpus)
    if jobs < 2 or jobs > n:
        return []
    i %= jobs  # a replaced worker takes the next slot; the shares repeat
    return cpus[i * n // jobs:(i + 1) * n // jobs]


def _run_dask(rows: list[dict[str, Any]], preset_ref: str, options: dict[str, Any], scheduler: str | None,
              jobs: int) -> Iterable[dict[str, Any]]:
    """Run :func:`extract_rows` on a dask.distributed cluster (workers read the images from shared paths)."""
    try:
        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise MissingDependencyError(
            "dask.distributed is not installed; pip install 'nbrisk[dask]'") from None
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout="15s")
        except (OSError, TimeoutError, ValueError) as exc:
            msg = " ".join(str(exc).split())[:120]
            raise InputError(f"cannot reach the dask scheduler at {scheduler} ({msg}); check --scheduler "
                             "(e.g. tcp://HOST:8786) and that the scheduler is running") from None
    else:
        cluster = LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        futs = [client.submit(extract_rows, g, preset_ref, options, pure=False)
                for g in largest_first(image_groups(rows))]
        for f in dask_completed(futs):
            res = f.result()
            f.release()
            yield from res
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
