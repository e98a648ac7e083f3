"""NBRisk: neuroblastoma radiomics panel for 3D Slicer (thin layer over the ``nbrisk`` core)."""

import logging

import slicer
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)

from NBRiskLib import NBRiskLogic, NBRiskParameterNode


class NBRiskModule(ScriptedLoadableModule):
    """Module metadata: title, category, help with the seed studies, acknowledgement."""

    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "NBRisk"
        self.parent.categories = ["Quantification"]
        self.parent.dependencies = ["Segmentations", "Markups"]
        self.parent.contributors = ["NBRisk contributors"]
        self.parent.helpText = """
<p>From a CT or MRI volume to a neuroblastoma risk score beside the images: grow the tumour from seed points,
extract the radiomics features of a published preset, apply a safe model bundle (.nbrisk), fill the 20-item
IDRF checklist with image-derived hints, read off INRG stage and pretreatment risk group, and run blinded
reader studies (export, import, Dice/ICC analysis).</p>
<p><b>Research software: not for clinical use unless validated locally.</b> Scores come from models trained on
small published cohorts; check each bundle's model card.</p>
<p>Seed studies: Jia et al. 2023 (MRI radiomics, surgical risk, SVM); Kim et al. 2024 (T2 MRI, largest slice,
INRG high risk); Bi et al. 2025 (CT radiomics nomogram, progression-free survival); Zhang et al. 2026
(CT, neuroblastoma vs ganglioneuroblastoma); nnU-Net segmentation vs inter-observer variability (Dice, HD95,
FPRm). IDRFs: Monclair et al. J Clin Oncol 2009; Brisse et al. Radiology 2011.</p>
"""
        self.parent.acknowledgementText = """
Built on pyradiomics (van Griethuysen et al., Cancer Res 2017), SimpleITK, scikit-learn, imbalanced-learn and
skops. Panel structure follows Slicer's scripted-module template and SlicerNNUnet.
"""


class NBRiskModuleWidget(ScriptedLoadableModuleWidget):
    """Adds the NBRisk panel to the module area; all behaviour lives in ``NBRiskLib.widget.NBRiskPanel``."""

    def __init__(self, parent=None) -> None:
        self.panel = None  # before the base __init__, which calls setup() when it creates its own parent
        ScriptedLoadableModuleWidget.__init__(self, parent)

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        from NBRiskLib import NBRiskPanel

        self.panel = NBRiskPanel(self.resourcePath("UI/NBRiskModule.ui"), NBRiskModuleLogic(),
                                 requirementsPath=self.resourcePath("requirements.txt"))
        self.layout.addWidget(self.panel.uiWidget)
        self.layout.addStretch(1)
        self.panel.initializeParameterNode()

    def enter(self) -> None:
        self.panel.enter()

    def exit(self) -> None:
        self.panel.exit()

    def cleanup(self) -> None:
        if self.panel is not None:
            self.panel.cleanup()

    def onReload(self) -> None:
        """Purge NBRiskLib and nbrisk from sys.modules so Reload picks up edits to them too (no ``imp``)."""
        import importlib
        import sys

        for name in sorted((n for n in sys.modules if n.split(".")[0] in ("nbrisk", "NBRiskLib")), reverse=True):
            del sys.modules[name]
        importlib.invalidate_caches()
        ScriptedLoadableModuleWidget.onReload(self)


class NBRiskModuleLogic(NBRiskLogic):
    """Module logic: the parameter node plus everything in ``NBRiskLib.slicer_logic.NBRiskLogic``."""

    def getParameterNode(self) -> NBRiskParameterNode:
        return NBRiskParameterNode(super().getParameterNode())


class NBRiskModuleTest(ScriptedLoadableModuleTest):
    """End-to-end test inside Slicer on generated data (never installs packages)."""

    def setUp(self) -> None:
        slicer.mrmlScene.Clear()

    def runTest(self) -> None:
        from NBRiskLib import selftest

        missing = selftest.missing_packages()
        if missing:  # ctest matches this marker (SKIP_REGULAR_EXPRESSION) and reports the test skipped
            message = f"{selftest.SKIP_MARKER} Python packages not installed: {', '.join(missing)}"
            logging.warning(message)
            print(message)  # noqa: T201 - ctest reads the marker from the test's output
            self.skipTest(message)
        self.setUp()
        self.delayDisplay("NBRisk: volume -> seeds -> grow -> predict -> checklist -> export")
        report = selftest.run_full_flow(self, NBRiskModuleLogic())
        logging.info("NBRisk self-test: %s", report)
        self.delayDisplay("NBRisk self-test passed")
