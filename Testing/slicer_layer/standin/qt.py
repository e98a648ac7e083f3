"""Stand-in for PythonQt's ``qt`` module: PySide6 classes in one flat namespace."""

from typing import ClassVar as _ClassVar  # private: keeps the stand-in namespace Qt-only

from PySide6.QtCore import *  # noqa: F403
from PySide6.QtGui import *  # noqa: F403
from PySide6.QtUiTools import QUiLoader  # noqa: F401
from PySide6.QtWidgets import *  # noqa: F403


class _DesktopServicesRecorder:
    """Records opened URLs instead of launching a browser."""

    opened: _ClassVar[list] = []

    @classmethod
    def openUrl(cls, url) -> bool:
        cls.opened.append(url.toLocalFile() if hasattr(url, "toLocalFile") else str(url))
        return True


QDesktopServices = _DesktopServicesRecorder
