"""Stand-in for the few CTK widgets the NBRisk .ui uses."""

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QLineEdit, QVBoxLayout


class ctkCollapsibleButton(QGroupBox):
    """A titled group box (the real one collapses; titles come from the .ui 'text' property)."""

    def __init__(self, parent=None):
        super().__init__(parent)

    def setText(self, text):
        self.setTitle(text)


class ctkPathLineEdit(QLineEdit):
    """Line edit with ctk's ``currentPath`` API."""

    currentPathChanged = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.textChanged.connect(self.currentPathChanged.emit)

    def currentPath(self) -> str:
        return self.text()

    def setCurrentPath(self, path) -> None:
        self.setText(str(path))


__all__ = ["QVBoxLayout", "ctkCollapsibleButton", "ctkPathLineEdit"]
