"""Helpers shared by the panel tests: build the module widget through NBRiskModule.py with the stand-in."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import SimpleITK as sitk


def build_module_widget():
    """Instantiate NBRiskModule and NBRiskModuleWidget exactly as Slicer does (parent without a widget)."""
    import NBRiskModule

    module = NBRiskModule.NBRiskModule(SimpleNamespace(path=NBRiskModule.__file__))
    widget = NBRiskModule.NBRiskModuleWidget()
    return module, widget


def prop(widget, name: str):
    """Read a Qt property whether or not PySide6's true_property is active for the caller.

    PySide6 switches the feature by module, but the switch can outlive a call into NBRiskLib (loaded with it),
    so test code reads through this helper: attribute first, then the getter method (``isX``/``toX``/``x()``).
    """
    for attr in (name, "is" + name[0].upper() + name[1:], "to" + name[0].upper() + name[1:]):
        try:
            value = getattr(widget, attr)
        except AttributeError:
            continue
        return value() if callable(value) else value
    raise AttributeError(f"{type(widget).__name__} has no property {name}")


def set_prop(widget, name: str, value) -> None:
    """Write a Qt property through QObject.setProperty (a method in both modes; emits the change signals)."""
    assert widget.setProperty(name, value), f"{type(widget).__name__}.{name} is not writable"


def text(widget) -> str:
    return prop(widget, "text")


def save_screenshot(widget, path: Path, width: int = 520, height: int = 2600) -> Path:
    from PySide6.QtWidgets import QApplication

    widget.resize(width, height)
    widget.show()
    for _ in range(3):
        QApplication.processEvents()
    path.parent.mkdir(parents=True, exist_ok=True)
    assert widget.grab().save(str(path)), f"could not write {path}"
    return path


def small_volume(slicer_module, tmp_path: Path, name: str = "case01"):
    image = sitk.GetImageFromArray(np.full((8, 16, 16), 40, dtype=np.int16))
    image.SetSpacing((1.0, 1.0, 2.0))
    path = tmp_path / f"{name}.nrrd"
    sitk.WriteImage(image, str(path))
    return slicer_module.util.loadVolume(path)


PREDICTION = {"case_id": "case01", "probability": 0.731, "score": 0.731, "threshold": 0.45,
              "predicted_class": 1, "positive_class": 1, "risk_category": "high",
              "contributions": [{"feature": "original_firstorder_Mean", "value": 61.2, "contribution": 0.84,
                                 "direction": "raises risk"}],
              "warnings": ["original_firstorder_Mean outside the training range"],
              "model": {"recipe": "lr"}}


def prediction_json() -> str:
    return json.dumps(PREDICTION)
