"""Build a headless Slicer core from Kitware's ``slicer-core`` package: real MRML scene, application logic and
the module logics NBRisk uses, registered the way Slicer's application registers them.

What is real here: ``vtkMRMLScene`` and every node (volumes, segmentations, markups, tables, scripted-module
nodes), ``vtkSlicerApplicationLogic``, the volumes/segmentations/markups/colors/subject-hierarchy logics,
``vtk`` itself and Slicer's own ``slicer.util`` (array conversions, segment import/export, table helpers,
``VTKObservationMixin``). What is not: anything that needs Qt (``slicer.app``, layout manager, widgets, message
boxes) - those come from ``standin/`` and are listed in ``standin/README.md``.

Registration follows ``qSlicerCoreApplication::setMRMLScene`` / ``qSlicerAbstractCoreModule::setMRMLScene`` in
Slicer 5.10 (``Base/QTCore``): each module logic gets the application logic, then the scene, and is registered
by module name with ``vtkSlicerApplicationLogic::SetModuleLogic`` so logics that look each other up
(volumes -> colors) find them.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field

REQUIREMENT = "slicer-core"  # Kitware's wheel of Slicer's non-Qt libraries (PyPI), Python 3.10-3.12


@dataclass
class CoreApplication:
    """The scene, the application logic and ``{python module name: logic}`` (``slicer.modules.<name>.logic()``)."""

    scene: object
    app_logic: object
    logics: dict = field(default_factory=dict)

    def modules_namespace(self) -> types.SimpleNamespace:
        """A ``slicer.modules`` look-alike: ``modules.volumes.logic()`` returns the real volumes logic."""
        return types.SimpleNamespace(**{name: types.SimpleNamespace(name=name, logic=(lambda lg=lg: lg))
                                        for name, lg in self.logics.items()})


# (python module name, Slicer module name used by SetModuleLogic, logic class in slicer-core)
MODULE_LOGICS = (
    ("subjecthierarchy", "SubjectHierarchy", "vtkSlicerSubjectHierarchyModuleLogic"),
    ("volumes", "Volumes", "vtkSlicerVolumesLogic"),
    ("segmentations", "Segmentations", "vtkSlicerSegmentationsModuleLogic"),
    ("markups", "Markups", "vtkSlicerMarkupsLogic"),
    ("tables", "Tables", "vtkSlicerTablesLogic"),
)


def build_core_application() -> CoreApplication:
    """Create a scene with Slicer's default nodes and register the module logics on it."""
    import slicer
    import vtk

    scene = slicer.vtkMRMLScene()
    app_logic = slicer.vtkSlicerApplicationLogic()
    app_logic.SetMRMLScene(scene)
    app_logic.SetSliceLogics(vtk.vtkCollection())
    app_logic.SetViewLogics(vtk.vtkCollection())
    app = CoreApplication(scene, app_logic)
    # Colors: the application's own vtkMRMLColorLogic (its default colour nodes need no files on disk; Slicer's
    # vtkSlicerColorLogic would also look for colour files under Slicer's home directory, which is not here)
    colors = app_logic.GetColorLogic()
    colors.SetMRMLScene(scene)
    app_logic.SetModuleLogic("Colors", colors)
    app.logics["colors"] = colors
    for python_name, module_name, class_name in MODULE_LOGICS:
        logic = getattr(slicer, class_name)()
        logic.SetMRMLApplicationLogic(app_logic)
        logic.SetMRMLScene(scene)
        app_logic.SetModuleLogic(module_name, logic)
        app.logics[python_name] = logic
    return app


def available() -> str:
    """Return '' when slicer-core imports, else the reason (used in skip messages)."""
    try:
        import slicer  # noqa: F401
        from slicer import vtkMRMLScene  # noqa: F401
    except ImportError as exc:
        return f"needs Kitware's slicer-core ({exc}); install it with: pip install slicer-core"
    return ""
