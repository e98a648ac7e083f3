"""Put Slicer's real ``slicer`` package (slicer-core) together with the Qt stand-ins, outside pytest too.

Used by the ``standin``/``mrml`` fixtures (with ``monkeypatch.setattr`` so a test leaves nothing behind), by
subprocess tests and by ``Utilities/slicer_py312_check.py`` (plain ``setattr``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MODULE_DIR = ROOT / "NBRiskModule"
STANDIN_DIR = HERE / "standin"


def setup_slicer(temporary_path: str, with_qt: bool = True, set_attr: Callable = setattr):
    """Return ``(slicer, core)``: a fresh real scene and module logics; with Qt, ``slicer.app`` and widgets too."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    import real_slicer

    reason = real_slicer.available()
    if reason:
        raise ImportError(reason)
    import slicer
    import slicer.util

    core = real_slicer.build_core_application()
    _set(set_attr, slicer, "mrmlScene", core.scene)
    _set(set_attr, slicer, "modules", core.modules_namespace())
    _set(set_attr, slicer, "selfTests", {})
    _set(set_attr, slicer, "core_application", core)
    if not with_qt:
        return slicer, core
    if str(STANDIN_DIR) not in sys.path:
        sys.path.insert(0, str(STANDIN_DIR))
    if str(STANDIN_DIR / "slicer") not in slicer.__path__:
        slicer.__path__.append(str(STANDIN_DIR / "slicer"))
    import qtutil
    import slicerapp
    from slicer import widgets

    _set(set_attr, slicer, "app", slicerapp.App(core, temporary_path))
    for cls in widgets.CUSTOM_WIDGETS:
        _set(set_attr, slicer, cls.__name__, cls)
    for name in qtutil.OVERRIDES:
        _set(set_attr, slicer.util, name, getattr(qtutil, name))
    for store in (qtutil.messages, qtutil.pip_installed, qtutil.reloaded):
        store.clear()
    _set(set_attr, slicer.util, "messages", qtutil.messages)
    _set(set_attr, slicer.util, "pip_installed", qtutil.pip_installed)
    _set(set_attr, slicer.util, "reloaded", qtutil.reloaded)
    _set(set_attr, slicer.util, "confirm_answer", False)
    return slicer, core


def _set(set_attr: Callable, obj, name: str, value) -> None:
    if set_attr is setattr:
        setattr(obj, name, value)
    else:
        set_attr(obj, name, value, raising=False)
