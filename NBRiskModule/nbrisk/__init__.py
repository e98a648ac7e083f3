"""NBRisk core: neuroblastoma radiomics without Slicer.

The package holds all the science (I/O, segmentation, features, reproducibility, models, bundles,
prediction, IDRF/INRG staging). It never imports slicer, qt, ctk or vtk; the Slicer module is a thin layer
on top. The public API is one call per stage (see ``docs/api.md``)::

    import nbrisk
    fv = nbrisk.extract("ct.nrrd", "tumour.seg.nrrd", "bi2025-ct-venous")
    model = nbrisk.train("features.csv", "labels.csv", "lr")
    nbrisk.save_bundle("model.nbrisk", model, "bi2025-ct-venous")
    result = nbrisk.predict("model.nbrisk", "ct.nrrd", "tumour.seg.nrrd")

The API functions live in :mod:`nbrisk.api` and are loaded on first use, so that ``import nbrisk`` (and
``nbrisk --help``) stays fast: the scientific stack (scikit-learn, pyradiomics, SimpleITK) is imported only
when a function is called.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

from nbrisk.errors import (  # noqa: E402
    InputError,
    InputGeometryError,
    MissingDependencyError,
    ModelCompatibilityError,
    NBRiskError,
)

API = ("load_case", "extract", "extract_cohort", "segment", "icc", "cross_validate", "train", "save_bundle",
       "load_bundle", "predict", "stage")

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ loads them on first use
    from nbrisk.api import (
        cross_validate,
        extract,
        extract_cohort,
        icc,
        load_bundle,
        load_case,
        predict,
        save_bundle,
        segment,
        stage,
        train,
    )


def __getattr__(name: str) -> Any:
    if name in API:
        from nbrisk import api  # loaded on first use: keeps `import nbrisk` and `nbrisk --help` fast

        return getattr(api, name)
    raise AttributeError(f"module 'nbrisk' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *API])


__all__ = [
    "InputError",
    "InputGeometryError",
    "MissingDependencyError",
    "ModelCompatibilityError",
    "NBRiskError",
    "__version__",
    "cross_validate",
    "extract",
    "extract_cohort",
    "icc",
    "load_bundle",
    "load_case",
    "predict",
    "save_bundle",
    "segment",
    "stage",
    "train",
]
