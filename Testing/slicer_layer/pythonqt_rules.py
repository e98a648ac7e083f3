"""Load NBRiskLib and NBRiskModule with PySide6's ``true_property`` feature, so they obey PythonQt's rules.

In Slicer, PythonQt looks Qt *properties* up before methods: ``combo.count`` is an int there and
``combo.count()`` raises ``TypeError: 'int' object is not callable``. PySide6 does the same for the code of a
module that ran ``from __feature__ import true_property`` (the feature is per module). This import hook runs
that line in every NBRiskLib module before its code, so a property called as a method fails in the tests as
it does in Slicer. PySide6 is stricter than PythonQt in one way: property *setters* (``setText``) disappear
too, so the panel writes properties by assignment (``label.text = ...``), which PythonQt also supports.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys

PACKAGES = ("NBRiskLib", "NBRiskModule")


class _TruePropertyLoader(importlib.abc.Loader):
    def __init__(self, inner) -> None:
        self.inner = inner

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module) -> None:
        exec("from __feature__ import true_property", module.__dict__)
        self.inner.exec_module(module)


class TruePropertyFinder(importlib.abc.MetaPathFinder):
    """Finds NBRiskLib/NBRiskModule like the path finder, then injects the feature before executing them."""

    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] not in PACKAGES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _TruePropertyLoader(spec.loader)
        return spec


def install() -> TruePropertyFinder:
    """Put the finder first on ``sys.meta_path`` (PySide6 must already be imported); return it."""
    import PySide6.QtCore  # noqa: F401 - the feature needs PySide6 loaded

    finder = TruePropertyFinder()
    sys.meta_path.insert(0, finder)
    return finder


def uninstall(finder: TruePropertyFinder) -> None:
    if finder in sys.meta_path:
        sys.meta_path.remove(finder)
