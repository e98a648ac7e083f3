"""Reader study folders: the blinded export of cases to readers, and the study layout and key.

Import of the readers' segmentations is in :mod:`nbrisk.reproducibility.study_import`, the analysis (Dice/HD95,
features, ICC, kept list, plots, HTML) in :mod:`nbrisk.reproducibility.study_analysis` and
:mod:`nbrisk.reproducibility.study_report`.

Layout of a study folder (only ``readers/<R>/pass<N>/`` is ever sent to a reader)::

    study.json                    readers, passes, case count, software version (no case ids)
    key/key.csv                   code -> case_id, reader, pass, order, image checksum  (keep private)
    readers/<R>/pass<N>/          the blinded package: images/<code>.nrrd in a random order,
                                  manifest.csv (order, code, image, sha256), SHA256SUMS, README.txt
    returned/<R>/<timestamp>/     byte-exact copies of every file a reader returned, with import.csv
    masks/<R>/pass<N>/<code>.nrrd validated binary masks on the exported grid; masks/<R>/index.csv

Images are re-written from voxels and geometry only (spacing, origin, direction), so no header field of
the source (DICOM tags, NRRD key/value pairs, NIfTI descriptions) reaches a reader; the one header field
added is ``nbrisk_code``. Each (reader, pass) gets its own codes and order, and every copy has its own
checksum, so a second pass cannot be matched to the first by name, position or file hash.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import random
import re
import secrets
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import SimpleITK as sitk

from nbrisk import __version__
from nbrisk.errors import InputError
from nbrisk.io.csvcheck import check_delimiter
from nbrisk.io.images import read_image, write_image
from nbrisk.io.outputs import staging_dir

logger = logging.getLogger(__name__)

STUDY_FORMAT = "nbrisk-reader-study/1"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
READER_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
PACKAGE_FILES = ("manifest.csv", "SHA256SUMS", "README.txt")
INSTRUCTIONS = """NBRisk reader study - instructions for reader {reader}, pass {pass_}

You have {n} images in images/, named by pseudonymous codes. Work through them in the order of
manifest.csv (column 'order'). Do not look up or discuss the cases, and do not rename the files.

For each image:
  1. Load images/<code>.nrrd in 3D Slicer (drag and drop).
  2. In Segment Editor, create ONE segment named "tumour" and delineate the whole primary tumour.
  3. Save the segmentation as segmentations/<code>.seg.nrrd (File > Save data; keep the code in the
     file name). NIfTI or NRRD label maps (<code>_label.nii.gz) and DICOM SEG (<code>.dcm) are also
     accepted, as long as they lie on the grid of the image you were given.

When you are done, return the whole segmentations/ folder (or this whole folder). Check that the
images are intact with:  sha256sum -c SHA256SUMS
"""


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_csv(path: Path, rows: list[dict], fields: Sequence[str]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(fields))
        w.writeheader()
        w.writerows(rows)


def _read_csv(path: Path) -> list[dict]:
    check_delimiter(path, "table")
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def deidentified_copy(image: sitk.Image) -> sitk.Image:
    """Return a copy that carries voxels and geometry only (every metadata field dropped)."""
    out = sitk.GetImageFromArray(sitk.GetArrayFromImage(image))
    out.SetSpacing(image.GetSpacing())
    out.SetOrigin(image.GetOrigin())
    out.SetDirection(image.GetDirection())
    return out


def _refuse_burned_in(folder: Path) -> None:
    """Refuse a DICOM series whose Burned In Annotation (0028,0301) is YES: tags cannot remove it."""
    import pydicom

    for f in sorted(p for p in folder.iterdir() if p.is_file()):
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True)
        except Exception:  # pydicom raises many types; not a DICOM file, try the next one
            continue
        if str(getattr(ds, "BurnedInAnnotation", "")).upper() == "YES":
            raise InputError(
                f"{folder}: DICOM series has burned-in annotations (0028,0301 = YES); "
                "text in the pixels cannot be de-identified, export a clean series"
            )
        return


def read_case_manifest(manifest_csv: str | Path) -> list[tuple[str, Path]]:
    """Read ``case_id,image[,...]`` rows (paths relative to the manifest's folder); check ids are unique."""
    manifest_csv = Path(manifest_csv)
    if not manifest_csv.is_file():
        raise InputError(f"{manifest_csv}: case manifest not found; give a CSV with columns case_id,image")
    rows = _read_csv(manifest_csv)
    if not rows or not {"case_id", "image"} <= set(rows[0]):
        raise InputError(f"{manifest_csv}: needs columns case_id,image and at least one row")
    ids = [r["case_id"].strip() for r in rows]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup or "" in ids:
        raise InputError(f"{manifest_csv}: case_id must be unique and non-empty (repeated: {dup[:5]})")
    return [(i, (manifest_csv.parent / r["image"].strip()).resolve()) for i, r in zip(ids, rows, strict=True)]


# ------------------------------------------------------------------------------------------ export
@dataclass(frozen=True, slots=True)
class ExportResult:
    """Where the study was written and what each reader received."""

    study_dir: Path
    readers: tuple[str, ...]
    repeats: int
    n_cases: int
    key_csv: Path


def _new_codes(rng: random.Random, n: int, taken: set[str]) -> list[str]:
    codes: list[str] = []
    while len(codes) < n:
        code = "NB" + "".join(rng.choice(CODE_ALPHABET) for _ in range(6))
        if code not in taken:
            taken.add(code)
            codes.append(code)
    return codes


def export_study(
    manifest_csv: str | Path,
    out_dir: str | Path,
    readers: Sequence[str],
    repeats: int = 1,
    seed: int | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> ExportResult:
    """Write a blinded reader-study folder; never touch an existing folder.

    ``seed`` makes codes and orders reproducible (tests only: with a seed anyone who knows it can rebuild
    the key, so real studies leave it unset and use the operating system's randomness).
    """
    out_dir = Path(out_dir)
    if out_dir.exists():
        raise InputError(f"{out_dir}: already exists; a study folder is never overwritten, choose a new one")
    readers = [r.strip() for r in readers]
    bad = [r for r in readers if not READER_RE.match(r)]
    if bad or not readers or len(set(readers)) != len(readers):
        raise InputError(
            f"--readers {','.join(readers)!r}: reader names must be unique and like R1 or reader_A "
            "(letters, digits, _ -); give e.g. --readers R1,R2"
        )
    if repeats < 1:
        raise InputError(f"--repeats must be at least 1 (got {repeats})")
    cases = read_case_manifest(manifest_csv)
    rng: random.Random = random.Random(seed) if seed is not None else secrets.SystemRandom()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = staging_dir(out_dir)
    try:
        key = _write_packages(tmp, cases, readers, repeats, rng, progress)
        (tmp / "key").mkdir()
        _write_csv(
            tmp / "key" / "key.csv",
            key,
            ["code", "case_id", "reader", "pass", "order", "image_sha256", "source_image"],
        )
        (tmp / "key" / "README.txt").write_text(
            "This key maps the readers' pseudonymous codes back to case ids. Keep it private: never send it\n"
            "(or the study folder as a whole) to a reader. Send each reader only readers/<reader>/pass<N>/.\n"
        )
        study = {
            "format": STUDY_FORMAT,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "nbrisk_version": __version__,
            "readers": readers,
            "repeats": repeats,
            "n_cases": len(cases),
            "image_format": "nrrd",
            "key": "key/key.csv",
        }
        (tmp / "study.json").write_text(json.dumps(study, indent=2), encoding="utf-8")
        if out_dir.exists():
            raise InputError(f"{out_dir}: appeared while exporting; a study folder is never overwritten")
        os.rename(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return ExportResult(out_dir, tuple(readers), repeats, len(cases), out_dir / "key" / "key.csv")


def _write_packages(
    root: Path,
    cases: list[tuple[str, Path]],
    readers: list[str],
    repeats: int,
    rng: random.Random,
    progress: Callable[[float, str], None] | None,
) -> list[dict]:
    passes = [(r, p) for r in readers for p in range(1, repeats + 1)]
    taken: set[str] = set()
    plan: dict[tuple[str, int], dict[int, tuple[int, str]]] = {}  # (reader, pass) -> case -> (position, code)
    for r, p in passes:
        order = list(range(len(cases)))
        rng.shuffle(order)
        codes = _new_codes(rng, len(cases), taken)
        plan[(r, p)] = {case: (pos, codes[pos]) for pos, case in enumerate(order)}
        (root / "readers" / r / f"pass{p}" / "images").mkdir(parents=True)
        (root / "readers" / r / f"pass{p}" / "segmentations").mkdir()
    key: list[dict] = []
    for ci, (case_id, image_path) in enumerate(cases):
        if progress:
            progress(ci / len(cases), f"exporting case {ci + 1}/{len(cases)}")
        if image_path.is_dir():
            _refuse_burned_in(image_path)
        image = deidentified_copy(read_image(image_path))
        for r, p in passes:
            pos, code = plan[(r, p)][ci]
            image.SetMetaData("nbrisk_code", code)  # the only header field: every copy gets its own checksum
            target = write_image(image, root / "readers" / r / f"pass{p}" / "images" / f"{code}.nrrd")
            key.append(
                {
                    "code": code,
                    "case_id": case_id,
                    "reader": r,
                    "pass": p,
                    "order": pos + 1,
                    "image_sha256": sha256_file(target),
                    "source_image": str(image_path),
                }
            )
    for r, p in passes:
        folder = root / "readers" / r / f"pass{p}"
        rows = sorted((k for k in key if k["reader"] == r and k["pass"] == p), key=lambda k: k["order"])
        _write_csv(
            folder / "manifest.csv",
            [
                {
                    "order": k["order"],
                    "code": k["code"],
                    "image": f"images/{k['code']}.nrrd",
                    "sha256": k["image_sha256"],
                }
                for k in rows
            ],
            ["order", "code", "image", "sha256"],
        )
        (folder / "SHA256SUMS").write_text(
            "".join(f"{k['image_sha256']}  images/{k['code']}.nrrd\n" for k in rows)
        )
        (folder / "README.txt").write_text(INSTRUCTIONS.format(reader=r, pass_=p, n=len(rows)), encoding="utf-8")
    key.sort(key=lambda k: (k["reader"], k["pass"], k["order"]))
    return key


# ---------------------------------------------------------------------------------------- the study
@dataclass(frozen=True)
class Study:
    """An exported study: its folder, settings and key (code -> case, reader, pass)."""

    root: Path
    info: dict
    key: dict[str, dict]

    @classmethod
    def open(cls, root: str | Path) -> Study:
        """Open a study folder; raise InputError naming the folder if it is not one."""
        root = Path(root)
        if not (root / "study.json").is_file() or not (root / "key" / "key.csv").is_file():
            raise InputError(
                f"{root}: not a reader-study folder (no study.json or key/key.csv); "
                "create one with nbrisk study export"
            )
        info = json.loads((root / "study.json").read_text(encoding="utf-8"))
        if info.get("format") != STUDY_FORMAT:
            raise InputError(
                f"{root}: study format {info.get('format')!r} is not {STUDY_FORMAT}; "
                "use the nbrisk version that exported it"
            )
        key = {row["code"]: {**row, "pass": int(row["pass"])} for row in _read_csv(root / "key" / "key.csv")}
        return cls(root, info, key)

    def image_path(self, code: str) -> Path:
        row = self.key[code]
        return self.root / "readers" / row["reader"] / f"pass{row['pass']}" / "images" / f"{code}.nrrd"

    def exported_image(self, code: str) -> sitk.Image:
        """Read the image exported under ``code`` after checking its checksum against the key."""
        path = self.image_path(code)
        if not path.is_file() or sha256_file(path) != self.key[code]["image_sha256"]:
            raise InputError(
                f"{path}: exported image is missing or was modified (checksum differs from "
                "key/key.csv); restore the study folder from its backup"
            )
        return read_image(path)

    def codes(self, reader: str) -> dict[str, int]:
        """Return ``{code: pass}`` for a reader; InputError if the reader is not in the study."""
        if reader not in self.info["readers"]:
            raise InputError(
                f"reader {reader!r} is not in study {self.root} (readers: {self.info['readers']})"
            )
        return {c: row["pass"] for c, row in self.key.items() if row["reader"] == reader}

    def mask_path(self, code: str) -> Path:
        row = self.key[code]
        return self.root / "masks" / row["reader"] / f"pass{row['pass']}" / f"{code}.nrrd"
