"""Import of a reader's returned segmentations into a study (see :mod:`nbrisk.reproducibility.study` for the layout).

Every returned file is archived byte for byte (SHA-256 checked) under ``returned/<reader>/<UTC time>/``
before anything else; each segmentation is then matched to its case code, checked against the exported
image grid (and that image against its checksum in the key), and stored as a binary mask in ``masks/``.
"""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import SimpleITK as sitk

from nbrisk.errors import InputError, NBRiskError
from nbrisk.io.images import read_mask, write_image
from nbrisk.reproducibility.study import PACKAGE_FILES, Study, _read_csv, _write_csv, sha256_file

logger = logging.getLogger(__name__)
MASK_SUFFIXES = (".seg.nrrd", ".nrrd", ".nii.gz", ".nii", ".mha", ".dcm")


@dataclass
class ImportReport:
    """Outcome of one import: per code what was imported, and every file or case that needs attention."""

    reader: str
    archive: Path
    imported: dict[str, str] = field(default_factory=dict)  # code -> returned file (relative)
    kept_earlier: list[str] = field(default_factory=list)  # codes imported before, absent now
    missing: list[str] = field(default_factory=list)  # codes with no segmentation at all
    mismatched: dict[str, str] = field(default_factory=dict)  # file -> reason
    failed: list[str] = field(default_factory=list)  # codes whose returned file was refused
    extra: dict[str, str] = field(default_factory=dict)  # file -> reason
    digests: dict[str, str] = field(default_factory=dict)  # archived file -> SHA-256
    file_codes: dict[str, str] = field(default_factory=dict)  # file -> case code found in its name

    @property
    def ok(self) -> bool:
        return not self.missing and not self.mismatched


def _code_in(rel: Path, codes: dict[str, str]) -> str | None:
    for part in reversed(rel.parts):
        for token in re.split(r"[^A-Za-z0-9]+", part):
            if token.upper() in codes:
                return codes[token.upper()]
    return None


def _is_mask_file(path: Path) -> bool:
    return path.name.lower().endswith(MASK_SUFFIXES)


def import_reader(
    study_dir: str | Path,
    reader: str,
    from_dir: str | Path,
    segment: str | None = None,
    label: int | None = None,
) -> ImportReport:
    """Copy a reader's returned files into the study and validate one segmentation per expected code.

    Every returned file is archived byte for byte (checked by SHA-256) under ``returned/<reader>/<time>/``
    before anything else happens; valid masks are then stored on the exported grid in ``masks/``.
    """
    study = Study.open(study_dir)
    mine = study.codes(reader)
    from_dir = Path(from_dir)
    if not from_dir.is_dir():
        raise InputError(f"{from_dir}: folder not found; give the folder the reader returned")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    archive = study.root / "returned" / reader / stamp
    report = ImportReport(reader, archive)
    files = sorted(p for p in from_dir.rglob("*") if p.is_file() and not p.name.startswith("."))
    candidates: dict[str, list[Path]] = {}
    all_codes = {c.upper(): c for c in study.key}
    for f in files:
        rel = f.relative_to(from_dir)
        code, digest = _code_in(rel, all_codes), sha256_file(f)
        if code is not None and digest == study.key[code]["image_sha256"]:
            continue  # the package's own unchanged image: nothing to keep
        dest = archive / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest)
        if sha256_file(dest) != digest:
            raise NBRiskError(f"{dest}: copy differs from {f}; check the disk and import again")
        report.digests[str(rel)] = digest
        if code is not None:
            report.file_codes[str(rel)] = code
        if rel.name in PACKAGE_FILES:
            continue
        if code is None:
            report.extra[str(rel)] = "no case code in the file name"
        elif code not in mine:
            other = study.key[code]
            report.extra[str(rel)] = f"code {code} belongs to reader {other['reader']} pass {other['pass']}"
        elif "images" in rel.parts[:-1]:
            report.extra[str(rel)] = "a changed copy of the exported image (ignored)"
        elif not _is_mask_file(f):
            report.extra[str(rel)] = f"unsupported file type (use {', '.join(MASK_SUFFIXES)})"
        else:
            candidates.setdefault(code, []).append(rel)
    _validate_candidates(study, reader, from_dir, candidates, report, segment, label)
    index = _read_index(study, reader)
    for code in sorted(mine, key=lambda c: (mine[c], study.key[c]["order"])):
        if code not in report.imported and code not in report.failed:
            (report.kept_earlier if code in index else report.missing).append(code)
    _write_import_log(reader, archive, report, files)
    return report


def _validate_candidates(
    study: Study,
    reader: str,
    from_dir: Path,
    candidates: dict[str, list[Path]],
    report: ImportReport,
    segment: str | None,
    label: int | None,
) -> None:
    index = _read_index(study, reader)
    for code, rels in sorted(candidates.items()):
        if len(rels) > 1:
            report.failed.append(code)
            for rel in rels:
                report.mismatched[str(rel)] = (
                    f"{len(rels)} files for case {code} ({', '.join(map(str, rels))}); keep one"
                )
            continue
        rel = rels[0]
        try:
            mask = _read_reader_mask(from_dir / rel, study, code, segment, label)
        except InputError as exc:
            report.failed.append(code)
            why = str(exc).replace(str(from_dir / rel), str(rel)).replace(" or pass --resample-mask", "")
            report.mismatched[str(rel)] = why
            continue
        out = study.mask_path(code)
        write_image(mask, out)
        index[code] = {
            "code": code,
            "pass": study.key[code]["pass"],
            "returned_file": str(Path(report.archive.name) / rel),
            "sha256": report.digests[str(rel)],
            "voxels": int(sitk.GetArrayViewFromImage(mask).sum()),
        }
        report.imported[code] = str(rel)
    if index:
        _write_csv(
            study.root / "masks" / reader / "index.csv",
            [index[c] for c in sorted(index)],
            ["code", "pass", "returned_file", "sha256", "voxels"],
        )


def _read_reader_mask(
    path: Path, study: Study, code: str, segment: str | None, label: int | None
) -> sitk.Image:
    reference = study.exported_image(code)
    ref_path = study.image_path(code)
    try:
        return read_mask(path, reference, label=label, segment=segment, reference_path=ref_path).image
    except InputError:
        if segment is not None or label is not None or not path.name.lower().endswith((".seg.nrrd", ".dcm")):
            raise
        for name in ("tumour", "tumor"):  # several segments: take the one the instructions asked for
            try:
                return read_mask(path, reference, segment=name, reference_path=ref_path).image
            except InputError:
                pass
        raise


def _read_index(study: Study, reader: str) -> dict[str, dict]:
    path = study.root / "masks" / reader / "index.csv"
    return {row["code"]: row for row in _read_csv(path)} if path.is_file() else {}


def _write_import_log(reader: str, archive: Path, report: ImportReport, files: list[Path]) -> None:
    archive.mkdir(parents=True, exist_ok=True)
    rows = [{"code": c, "status": "imported", "file": f, "reason": ""} for c, f in report.imported.items()]
    rows += [
        {"code": report.file_codes.get(f, ""), "status": "mismatched", "file": f, "reason": r}
        for f, r in report.mismatched.items()
    ]
    rows += [
        {"code": report.file_codes.get(f, ""), "status": "extra", "file": f, "reason": r}
        for f, r in report.extra.items()
    ]
    rows += [
        {"code": c, "status": "missing", "file": "", "reason": "no segmentation returned"}
        for c in report.missing
    ]
    rows += [
        {"code": c, "status": "kept_earlier", "file": "", "reason": "imported before"}
        for c in report.kept_earlier
    ]
    _write_csv(archive / "import.csv", rows, ["code", "status", "file", "reason"])
    logger.info("import of %s: %d files archived in %s", reader, len(files), archive)
