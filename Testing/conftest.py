"""Shared pytest fixtures: pyradiomics' real sample cases (cached outside the repo) and phantoms."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

SDIST = "pyradiomics-bhklab==3.1.4"
SDIST_DIR = "pyradiomics_bhklab-3.1.4"
SAMPLE_CASES = ("brain1", "brain2", "breast1", "lung1", "lung2")


def _cache_dir() -> Path:
    base = os.environ.get("NBRISK_CACHE") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nbrisk"


def ensure_sample_data() -> Path:
    """Return pyradiomics' ``data`` folder, downloading its source distribution once if needed."""
    cache = _cache_dir()
    data = cache / SDIST_DIR / "data"
    if (data / "lung2_image.nrrd").exists():
        return data
    cache.mkdir(parents=True, exist_ok=True)
    tarball = next(cache.glob("pyradiomics_bhklab-3.1.4.tar.gz"), None)
    if tarball is None:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               "--no-build-isolation", SDIST, "-d", str(cache)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        tarball = next(cache.glob("pyradiomics_bhklab-3.1.4.tar.gz"), None)
        if tarball is None:
            raise RuntimeError(f"could not download {SDIST} sample data: {proc.stderr[-500:]}")
    with tarfile.open(tarball) as tf:
        members = [m for m in tf.getmembers() if m.name.startswith(f"{SDIST_DIR}/data/")]
        for m in members:  # Debian's 3.11.2 has no extraction filters: refuse anything unsafe ourselves
            if not (m.isfile() or m.isdir()) or m.name.startswith("/") or ".." in Path(m.name).parts:
                raise RuntimeError(f"unsafe member {m.name!r} in {tarball}")
        if hasattr(tarfile, "data_filter"):
            tf.extractall(cache, members=members, filter="data")
        else:
            tf.extractall(cache, members=members)
    return data


@pytest.fixture(scope="session")
def sample_data_dir() -> Path:
    """pyradiomics' sample images, labels and baseline CSVs (real data)."""
    return ensure_sample_data()


@pytest.fixture(scope="session")
def phantom_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic CT cohort (8 cases, two texture classes); returns its manifest.csv."""
    from nbrisk.synthetic.phantom import make_cohort

    return make_cohort(tmp_path_factory.mktemp("cohort"), 8, seed=0)


# ------------------------------------------------------------------------------ DICOM CT series (real data)
def write_ct_series(nrrd_path: Path, folder: Path, *, patient_id: str = "NBR-TEST-1",
                    patient_name: str = "Test^Lung") -> Path:
    """Write a NRRD CT volume as a DICOM CT Image series (one file per slice, int16 HU, shared Frame of
    Reference, positions and orientation from the volume's geometry); returns ``folder``."""
    import numpy as np
    import pydicom
    import SimpleITK as sitk
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    img = sitk.ReadImage(str(nrrd_path))
    arr = sitk.GetArrayFromImage(img).astype(np.int16)
    direction = np.array(img.GetDirection()).reshape(3, 3)
    sp = img.GetSpacing()
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(arr.shape[0]):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.preamble = b"\0" * 128
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
        ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = patient_name, patient_id, "", "O"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.StudyDate, ds.StudyTime, ds.StudyID, ds.AccessionNumber = "20200102", "101500", "1", "A1"
        ds.ReferringPhysicianName = ""
        ds.Modality, ds.SeriesNumber, ds.SeriesDescription = "CT", 1, f"{nrrd_path.name} as DICOM"
        ds.PositionReferenceIndicator, ds.PatientPosition, ds.BodyPartExamined = "", "HFS", "CHEST"
        ds.Manufacturer = "NBRisk test fixture"
        ds.InstanceNumber = k + 1
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.ImagePositionPatient = [f"{v:.6f}" for v in img.TransformIndexToPhysicalPoint((0, 0, k))]
        ds.ImageOrientationPatient = [f"{v:.6f}" for v in (*direction[:, 0], *direction[:, 1])]
        ds.PixelSpacing = [f"{sp[1]:.7g}", f"{sp[0]:.7g}"]
        ds.SliceThickness = f"{sp[2]:.7g}"
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows, ds.Columns = arr.shape[1], arr.shape[2]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "HU"
        ds.KVP, ds.AcquisitionNumber = "", ""
        ds.PixelData = np.ascontiguousarray(arr[k]).tobytes()
        path = folder / f"ct{k:04d}.dcm"
        if int(pydicom.__version__.split(".")[0]) >= 3:
            ds.save_as(str(path), enforce_file_format=True)
        else:
            ds.is_little_endian, ds.is_implicit_VR = True, False
            ds.save_as(str(path), write_like_original=False)
    return folder


@pytest.fixture(scope="session")
def lung_dicom(sample_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """pyradiomics' lung1 and lung2 CTs as DICOM CT series (made once per session); keys lung1, lung2,
    lung1_label, lung2_label (the NRRD label maps on the same grids)."""
    base = tmp_path_factory.mktemp("dicom")
    out: dict[str, Path] = {}
    for i, case in enumerate(("lung1", "lung2")):
        out[case] = write_ct_series(sample_data_dir / f"{case}_image.nrrd", base / case,
                                    patient_id=f"NBR-TEST-{i + 1}")
        out[f"{case}_label"] = sample_data_dir / f"{case}_label.nrrd"
    return out
