"""NBRisk core: neuroblastoma radiomics without Slicer.

The package holds all the science (I/O, preprocessing, features, reproducibility, models, bundles,
IDRF/INRG, reports). It never imports slicer, qt, ctk or vtk; the Slicer module is a thin layer on top.
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

from nbrisk.errors import (  # noqa: E402
    InputError,
    InputGeometryError,
    MissingDependencyError,
    ModelCompatibilityError,
    NBRiskError,
)

__all__ = [
    "InputError",
    "InputGeometryError",
    "MissingDependencyError",
    "ModelCompatibilityError",
    "NBRiskError",
    "__version__",
]
