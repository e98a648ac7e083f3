"""NBRiskLib: the Slicer-side adapter of NBRisk (MRML nodes and Qt widgets <-> ``nbrisk`` core calls).

Only ``slicer_logic`` touches MRML data, only ``widget`` touches the panel's widgets; every computation is a
call into the ``nbrisk`` core. The names the module file uses are re-exported here and loaded on first use, so
importing the package runs nothing (the Qt widgets are built only when the panel is opened).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# name -> module of this package that defines it
EXPORTS = {
    "NBRiskLogic": "slicer_logic",
    "NBRiskPanel": "widget",
    "NBRiskParameterNode": "parameter_node",
    "CliRunner": "runner",
    "PanelLogic": "protocols",
    "JobRunner": "protocols",
}

__all__ = ["EXPORTS", "CliRunner", "JobRunner", "NBRiskLogic", "NBRiskPanel", "NBRiskParameterNode", "PanelLogic"]


def __getattr__(name: str) -> Any:
    if name in EXPORTS:
        return getattr(import_module(f"{__name__}.{EXPORTS[name]}"), name)
    raise AttributeError(f"module 'NBRiskLib' has no attribute {name!r}")
