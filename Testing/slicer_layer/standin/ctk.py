"""Stand-in for the CTK widgets the NBRisk .ui uses, with CTK's Qt properties (PythonQt shows them as attributes).

Checked against CTK ``Libs/Widgets`` (commit 868d56c): ``ctkCollapsibleButton`` has the ``collapsed`` property;
``ctkPathLineEdit`` has ``currentPath`` (USER property), ``filters`` (``ctkPathLineEdit::Filters``; default
``AllEntries|NoDotAndDotDot|Readable``, so a plain field opens a *file* dialog) and ``nameFilters``.
"""

from __future__ import annotations

from PySide6.QtCore import Property, Signal
from PySide6.QtWidgets import QGroupBox, QLineEdit, QVBoxLayout

# ctkPathLineEdit::Filter values (ctkPathLineEdit.h)
FILTER_VALUES = {"Dirs": 0x001, "Files": 0x002, "Drives": 0x004, "NoSymLinks": 0x008, "AllEntries": 0x007,
                 "Readable": 0x010, "Writable": 0x020, "Executable": 0x040, "PermissionMask": 0x070,
                 "NoDotAndDotDot": 0x1000, "NoDot": 0x2000, "NoDotDot": 0x4000}


class ctkCollapsibleButton(QGroupBox):
    """A titled group whose ``collapsed`` property hides (never disables) its contents, like the real one."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._is_collapsed = False

    def setText(self, text):
        self.setTitle(text)

    def _collapsed(self) -> bool:
        return self._is_collapsed

    def _set_collapsed(self, value: bool) -> None:
        self._is_collapsed = bool(value)
        for child in self.children():
            if hasattr(child, "setVisible"):
                child.setVisible(not self._is_collapsed)

    collapsed = Property(bool, _collapsed, _set_collapsed)


class ctkPathLineEdit(QLineEdit):
    """Line edit with ctk's ``currentPath`` and ``filters`` properties and ``currentPathChanged`` signal."""

    currentPathChanged = Signal(str)
    Dirs, Files, Drives = FILTER_VALUES["Dirs"], FILTER_VALUES["Files"], FILTER_VALUES["Drives"]
    Readable, Writable, NoDotAndDotDot = (FILTER_VALUES["Readable"], FILTER_VALUES["Writable"],
                                          FILTER_VALUES["NoDotAndDotDot"])
    DEFAULT_FILTERS = FILTER_VALUES["AllEntries"] | FILTER_VALUES["NoDotAndDotDot"] | FILTER_VALUES["Readable"]

    def __init__(self, parent=None):
        super().__init__(parent)
        self._filters = self.DEFAULT_FILTERS
        self.textChanged.connect(self.currentPathChanged.emit)

    def apply_designer_filters(self, text: str) -> None:
        """Apply a ``filters`` flag set as Qt Designer writes it (``ctkPathLineEdit::Dirs|...``)."""
        value = 0
        for flag in str(text).split("|"):
            value |= FILTER_VALUES[flag.strip().split("::")[-1]]
        self._filters = value

    def _current_path(self) -> str:
        return self.text()

    def _set_current_path(self, path) -> None:
        self.setText(str(path))

    currentPath = Property(str, _current_path, _set_current_path)

    def setCurrentPath(self, path) -> None:  # a public slot in CTK
        self._set_current_path(path)

    def _get_filters(self) -> int:
        return self._filters

    def _set_filters(self, value: int) -> None:
        self._filters = int(value)

    filters = Property(int, _get_filters, _set_filters)

    def opens_folder_dialog(self) -> bool:
        """What ctkPathLineEdit::browse does: a directory dialog only when Files is not in the filters."""
        return bool(self._filters & self.Dirs) and not (self._filters & self.Files)


__all__ = ["QVBoxLayout", "ctkCollapsibleButton", "ctkPathLineEdit"]
