"""Coded concepts of NBRisk's DICOM SEG and SR (the table docs/dicom.md lists).

Standard vocabularies first: SNOMED CT (``SCT``), DICOM (``DCM``), UCUM units, RFC 5646 languages and IBSI
radiomics feature codes (``IBSI``, as DICOM PS3.16 uses them). Concepts with no standard code (the model's
risk score, each IDRF, INRGSS stages, INRG risk groups...) use the private scheme ``99NBRISK``, which every
SR names in its Coding Scheme Identification Sequence.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Code:
    """A coded concept; two codes are equal when value and scheme are (meanings may be reworded)."""

    value: str
    scheme: str
    meaning: str = field(compare=False)


PRIVATE_SCHEME = "99NBRISK"
PRIVATE_SCHEME_NAME = "NBRisk private codes"
PRIVATE_SCHEME_VERSION = "1"


def nbr(value: str, meaning: str) -> Code:
    return Code(value, PRIVATE_SCHEME, meaning)


# ---------------------------------------------------------------------------------------------- SEG
MORPHOLOGICALLY_ABNORMAL_STRUCTURE = Code("49755003", "SCT", "Morphologically Abnormal Structure")  # CID 7150
NEOPLASM = Code("108369006", "SCT", "Neoplasm")  # CID 7159 (property type), CID 7151
SEGMENTATION_DERIVATION = Code("113076", "DCM", "Segmentation")  # CID 7203
SOURCE_IMAGE_PURPOSE = Code("121322", "DCM", "Source image for image processing operation")  # CID 7202
ALGORITHM_TYPES = ("MANUAL", "SEMIAUTOMATIC", "AUTOMATIC")

# ------------------------------------------------------------------------------------- SR (TID 1500)
IMAGING_MEASUREMENT_REPORT = Code("126000", "DCM", "Imaging Measurement Report")
LANGUAGE_OF_CONTENT = Code("121049", "DCM", "Language of Content Item and Descendants")
ENGLISH_US = Code("en-US", "RFC5646", "English (United States)")
OBSERVER_TYPE = Code("121005", "DCM", "Observer Type")
DEVICE = Code("121007", "DCM", "Device")
DEVICE_OBSERVER_UID = Code("121012", "DCM", "Device Observer UID")
DEVICE_OBSERVER_NAME = Code("121013", "DCM", "Device Observer Name")
DEVICE_OBSERVER_MANUFACTURER = Code("121014", "DCM", "Device Observer Manufacturer")
DEVICE_OBSERVER_MODEL_NAME = Code("121015", "DCM", "Device Observer Model Name")
PROCEDURE_REPORTED = Code("121058", "DCM", "Procedure reported")
PROCEDURES = {
    "CT": Code("77477000", "SCT", "Computed tomography"),
    "MR": Code("113091000", "SCT", "Magnetic resonance imaging"),
}
IMAGING_PROCEDURE = Code("363679005", "SCT", "Imaging procedure")  # any other modality
IMAGE_LIBRARY = Code("111028", "DCM", "Image Library")
IMAGE_LIBRARY_GROUP = Code("126200", "DCM", "Image Library Group")
IMAGING_MEASUREMENTS = Code("126010", "DCM", "Imaging Measurements")
MEASUREMENT_GROUP = Code("125007", "DCM", "Measurement Group")
TRACKING_IDENTIFIER = Code("112039", "DCM", "Tracking Identifier")
TRACKING_UID = Code("112040", "DCM", "Tracking Unique Identifier")
FINDING = Code("121071", "DCM", "Finding")
REFERENCED_SEGMENT = Code("121191", "DCM", "Referenced Segment")
SOURCE_SERIES_FOR_SEGMENTATION = Code("121232", "DCM", "Source series for segmentation")
VOLUME = Code("118565006", "SCT", "Volume")
MEASUREMENT_METHOD = Code("370129005", "SCT", "Measurement Method")
SUM_OF_VOXELS_VOLUME = Code("126030", "DCM", "Sum of segmented voxel method for volume")
ALGORITHM_NAME = Code("111001", "DCM", "Algorithm Name")
ALGORITHM_VERSION = Code("111003", "DCM", "Algorithm Version")
ALGORITHM_PARAMETERS = Code("111002", "DCM", "Algorithm Parameters")
CUBIC_CENTIMETER = Code("cm3", "UCUM", "cubic centimeter")
NO_UNITS = Code("1", "UCUM", "no units")
PRESENT = Code("52101004", "SCT", "Present")  # CID 240
ABSENT = Code("272519000", "SCT", "Absent")  # CID 240

# private concepts (no standard code exists)
RISK_SCORE = nbr("RISKSCORE", "Model risk score")
PREDICTED_CLASS = nbr("PREDCLASS", "Predicted class")
RISK_CATEGORY = nbr("RISKCAT", "Model risk category")
INTENDED_USE = nbr("USE", "Intended use")
INRGSS_STAGE = nbr("INRGSS", "INRG Staging System stage")
INRG_RISK_GROUP = nbr("INRGRISK", "INRG pretreatment risk group")
INRG_GROUP_LETTER = nbr("INRGGROUP", "INRG pretreatment group (Cohn 2009 row)")
NOT_ASSESSED = nbr("NOTASSESSED", "Not assessed")
NOT_ASSESSABLE = nbr("NOTASSESSABLE", "Not assessable")
RESEARCH_USE = "Research use, not validated for clinical use"

IDRF_STATUS = {"present": PRESENT, "absent": ABSENT, "unset": NOT_ASSESSED, "not_assessable": NOT_ASSESSABLE}

# INRGSS (Monclair 2009) stages and INRG pretreatment risk groups (Cohn 2009)
INRGSS_STAGES = {s: nbr(f"INRGSS-{s}", f"INRGSS stage {s}") for s in ("L1", "L2", "M", "MS")}
INRGSS_STAGES["unclassifiable"] = nbr("INRGSS-NA", "INRGSS stage not classifiable from the inputs")
INRG_RISK_GROUPS = {
    "very_low": nbr("INRG-VL", "Very low risk"),
    "low": nbr("INRG-L", "Low risk"),
    "intermediate": nbr("INRG-I", "Intermediate risk"),
    "high": nbr("INRG-H", "High risk"),
    "unclassifiable": nbr("INRG-U", "Risk group not classifiable from the inputs"),
}

# the 20 IDRFs of nbrisk/staging/data/idrf.json (Monclair 2009; Brisse 2011), code value <= 16 characters
IDRF_CODES = {
    "multiple_compartments_ipsilateral": nbr(
        "IDRF-COMPART", "IDRF: ipsilateral extension in two body compartments"
    ),
    "neck_vessel_encasement": nbr("IDRF-NECK-VES", "IDRF: neck vessel encasement"),
    "neck_skull_base_extension": nbr("IDRF-NECK-SKULL", "IDRF: neck tumour extending to the skull base"),
    "neck_tracheal_compression": nbr("IDRF-NECK-TRACH", "IDRF: neck tracheal compression"),
    "cervicothoracic_brachial_plexus_encasement": nbr(
        "IDRF-CT-PLEXUS", "IDRF: cervico-thoracic brachial plexus encasement"
    ),
    "cervicothoracic_vessel_encasement": nbr("IDRF-CT-VES", "IDRF: cervico-thoracic vessel encasement"),
    "cervicothoracic_tracheal_compression": nbr(
        "IDRF-CT-TRACH", "IDRF: cervico-thoracic tracheal compression"
    ),
    "thorax_aorta_branches_encasement": nbr(
        "IDRF-TH-AORTA", "IDRF: thoracic aorta or major branches encased"
    ),
    "thorax_airway_compression": nbr(
        "IDRF-TH-AIRWAY", "IDRF: thoracic trachea or principal bronchi compressed"
    ),
    "thorax_costovertebral_junction_t9_t12": nbr(
        "IDRF-TH-T9T12", "IDRF: costo-vertebral junction T9-T12 infiltrated"
    ),
    "thoracoabdominal_aorta_vena_cava_encasement": nbr(
        "IDRF-TA-AOVC", "IDRF: thoraco-abdominal aorta or vena cava encased"
    ),
    "abdomen_porta_hepatis_hepatoduodenal_ligament": nbr(
        "IDRF-AB-PORTA", "IDRF: porta hepatis or hepatoduodenal ligament"
    ),
    "abdomen_sma_branches_mesenteric_root": nbr(
        "IDRF-AB-SMA-BR", "IDRF: SMA branches at the mesenteric root"
    ),
    "abdomen_celiac_sma_origin_encasement": nbr(
        "IDRF-AB-CEL-SMA", "IDRF: coeliac axis or SMA origin encased"
    ),
    "abdomen_renal_pedicle_invasion": nbr("IDRF-AB-RENAL", "IDRF: renal pedicle invasion"),
    "abdomen_aorta_vena_cava_encasement": nbr("IDRF-AB-AOVC", "IDRF: abdominal aorta or vena cava encased"),
    "abdomen_iliac_vessel_encasement": nbr("IDRF-AB-ILIAC", "IDRF: iliac vessel encasement"),
    "pelvis_sciatic_notch_crossing": nbr("IDRF-PV-SCIATIC", "IDRF: pelvic tumour crossing the sciatic notch"),
    "intraspinal_extension": nbr("IDRF-SPINE", "IDRF: intraspinal extension"),
    "adjacent_organ_infiltration": nbr("IDRF-ORGAN", "IDRF: infiltration of adjacent organs or structures"),
}

# pyradiomics feature names (class_feature, no image-type prefix) -> IBSI code, as DICOM PS3.16 lists them
# (CID 7466-7475). Only features whose pyradiomics definition matches the IBSI one are mapped; the others
# are written with private RAD- codes (see radiomics_code).
IBSI = "IBSI"
IBSI_CODES = {
    "shape_MeshVolume": Code("RNU0", IBSI, "Volume of Mesh"),
    "shape_VoxelVolume": Code("YEKZ", IBSI, "Volume from Voxel Summation"),
    "shape_SurfaceArea": Code("C0JK", IBSI, "Surface Area of Mesh"),
    "shape_SurfaceVolumeRatio": Code("2PR5", IBSI, "Surface to Volume Ratio"),
    "shape_Sphericity": Code("QCFX", IBSI, "Sphericity"),
    "shape_Maximum3DDiameter": Code("L0JK", IBSI, "Maximum 3D Diameter of a Mesh"),
    "shape_MajorAxisLength": Code("TDIC", IBSI, "Major Axis in 3D Length"),
    "shape_MinorAxisLength": Code("P9VJ", IBSI, "Minor Axis in 3D Length"),
    "shape_LeastAxisLength": Code("7J51", IBSI, "Least Axis in 3D Length"),
    "shape_Elongation": Code("Q3CK", IBSI, "Elongation"),
    "shape_Flatness": Code("N17B", IBSI, "Flatness"),
    "firstorder_Entropy": Code("TLU2", IBSI, "Intensity Histogram Entropy"),
    "firstorder_Uniformity": Code("BJ5W", IBSI, "Intensity Histogram Uniformity"),
    "glcm_JointEnergy": Code("8ZQL", IBSI, "Angular Second Moment of GLCM"),
    "glcm_Contrast": Code("ACUI", IBSI, "Contrast of GLCM"),
    "glcm_Correlation": Code("NI2N", IBSI, "Correlation of GLCM"),
    "glcm_JointEntropy": Code("TU9B", IBSI, "Joint Entropy of GLCM"),
    "glcm_JointAverage": Code("60VM", IBSI, "Joint Average of GLCM"),
    "glcm_ClusterProminence": Code("AE86", IBSI, "Cluster Prominence of GLCM"),
    "glcm_ClusterShade": Code("7NFM", IBSI, "Cluster Shade of GLCM"),
    "glcm_ClusterTendency": Code("DG8W", IBSI, "Cluster Tendency of GLCM"),
    "glcm_DifferenceAverage": Code("TF7R", IBSI, "Difference Average of GLCM"),
    "glcm_DifferenceEntropy": Code("NTRS", IBSI, "Difference Entropy of GLCM"),
    "glcm_DifferenceVariance": Code("D3YU", IBSI, "Difference Variance of GLCM"),
    "glcm_Idm": Code("WF0Z", IBSI, "Inverse Difference Moment of GLCM"),
    "glcm_Id": Code("IB1Z", IBSI, "Inverse Difference of GLCM"),
    "glcm_InverseVariance": Code("E8JP", IBSI, "Inverse Variance of GLCM"),
    "glcm_MaximumProbability": Code("GYBY", IBSI, "Joint Maximum of GLCM"),
    "glcm_SumEntropy": Code("P6QZ", IBSI, "Sum Entropy of GLCM"),
    "glrlm_ShortRunEmphasis": Code("22OV", IBSI, "Short Runs Emphasis"),
    "glrlm_LongRunEmphasis": Code("W4KF", IBSI, "Long Runs Emphasis"),
    "glrlm_GrayLevelNonUniformity": Code("R5YN", IBSI, "Gray Level Nonuniformity in Runs"),
    "glrlm_RunLengthNonUniformity": Code("W92Y", IBSI, "Run Length Nonuniformity"),
    "glrlm_RunPercentage": Code("9ZK5", IBSI, "Run Percentage"),
    "glrlm_RunEntropy": Code("HJ9O", IBSI, "Run Entropy"),
    "glrlm_LowGrayLevelRunEmphasis": Code("V3SW", IBSI, "Low Gray Level Run Emphasis"),
    "glrlm_HighGrayLevelRunEmphasis": Code("G3QZ", IBSI, "High Gray Level Run Emphasis"),
    "glrlm_ShortRunLowGrayLevelEmphasis": Code("HTZT", IBSI, "Short Run Low Gray Level Emphasis"),
    "glrlm_ShortRunHighGrayLevelEmphasis": Code("GD3A", IBSI, "Short Run High Gray Level Emphasis"),
    "glrlm_LongRunLowGrayLevelEmphasis": Code("IVPO", IBSI, "Long Run Low Gray Level Emphasis"),
    "glrlm_LongRunHighGrayLevelEmphasis": Code("3KUM", IBSI, "Long Run High Gray Level Emphasis"),
    "glrlm_GrayLevelVariance": Code("8CE5", IBSI, "Gray Level Variance in Runs"),
    "glrlm_RunVariance": Code("SXLW", IBSI, "Run Length Variance"),
    "glszm_SmallAreaEmphasis": Code("5QRC", IBSI, "Small Zone Emphasis"),
    "glszm_LargeAreaEmphasis": Code("48P8", IBSI, "Large Zone Emphasis"),
    "glszm_GrayLevelNonUniformity": Code("JNSA", IBSI, "Gray Level Nonuniformity of Size Zone Counts"),
    "glszm_SizeZoneNonUniformity": Code("4JP3", IBSI, "Zone Size Nonuniformity"),
    "glszm_ZoneEntropy": Code("GU8N", IBSI, "Zone Size Entropy"),
    "glszm_ZoneVariance": Code("3NSA", IBSI, "Zone Size Variance"),
    "glszm_GrayLevelVariance": Code("BYLV", IBSI, "Gray Level Variance in Size Zones"),
    "glszm_LowGrayLevelZoneEmphasis": Code("XMSY", IBSI, "Low Gray Level Zone Emphasis"),
    "glszm_HighGrayLevelZoneEmphasis": Code("5GN9", IBSI, "High Gray Level Zone Emphasis"),
    "glszm_SmallAreaLowGrayLevelEmphasis": Code("5RAI", IBSI, "Small Zone Low Gray Level Emphasis"),
    "glszm_SmallAreaHighGrayLevelEmphasis": Code("HW1V", IBSI, "Small Zone High Gray Level Emphasis"),
    "glszm_LargeAreaLowGrayLevelEmphasis": Code("YH51", IBSI, "Large Zone Low Gray Level Emphasis"),
    "glszm_LargeAreaHighGrayLevelEmphasis": Code("J17V", IBSI, "Large Zone High Gray Level Emphasis"),
    "ngtdm_Coarseness": Code("QCDE", IBSI, "Coarseness of NGTDM"),
    "ngtdm_Contrast": Code("65HE", IBSI, "Contrast of NGTDM"),
    "ngtdm_Busyness": Code("NQ30", IBSI, "Busyness of NGTDM"),
    "ngtdm_Complexity": Code("HDEZ", IBSI, "Complexity of NGTDM"),
    "ngtdm_Strength": Code("1X9X", IBSI, "Strength of NGTDM"),
    "gldm_SmallDependenceEmphasis": Code("SODN", IBSI, "Low dependence emphasis"),
    "gldm_LargeDependenceEmphasis": Code("IMOQ", IBSI, "High dependence emphasis"),
    "gldm_DependenceEntropy": Code("FCBV", IBSI, "Dependence count entropy"),
    "gldm_DependenceVariance": Code("DNX2", IBSI, "Dependence count variance"),
    "gldm_DependenceNonUniformity": Code("Z87G", IBSI, "Dependence count non-uniformity"),
    "gldm_DependenceNonUniformityNormalized": Code(
        "OKJI", IBSI, "Dependence count non-uniformity normalized"
    ),
    "gldm_GrayLevelNonUniformity": Code("FP8K", IBSI, "Grey level non-uniformity of NGLDM"),
    "gldm_GrayLevelVariance": Code("1PFV", IBSI, "Grey level variance of NGLDM"),
    "gldm_LowGrayLevelEmphasis": Code("TL9H", IBSI, "Low grey level count emphasis"),
    "gldm_HighGrayLevelEmphasis": Code("OAE7", IBSI, "High grey level count emphasis"),
    "gldm_SmallDependenceLowGrayLevelEmphasis": Code("EQ3F", IBSI, "Low dependence low grey level emphasis"),
    "gldm_SmallDependenceHighGrayLevelEmphasis": Code(
        "JA6D", IBSI, "Low dependence high grey level emphasis"
    ),
    "gldm_LargeDependenceLowGrayLevelEmphasis": Code("NBZI", IBSI, "High dependence low grey level emphasis"),
    "gldm_LargeDependenceHighGrayLevelEmphasis": Code(
        "9QMG", IBSI, "High dependence high grey level emphasis"
    ),
}


def radiomics_code(name: str) -> tuple[Code, str]:
    """(concept code, image type) of a radiomics feature column such as ``original_glcm_Contrast``.

    The IBSI code when :data:`IBSI_CODES` maps the feature, else the private code ``RAD-`` + the first 12
    hex digits of the SHA-256 of ``class_feature`` (meaning ``pyradiomics class_feature``). The image type
    (``original``, ``wavelet-LLH``, ``log-sigma-3-0-mm-3D``, ...) goes into the SR beside the code, since
    IBSI codes name the feature, not the filter.
    """
    parts = name.split("_")
    key = "_".join(parts[-2:]) if len(parts) >= 2 else name
    image_type = "_".join(parts[:-2]) if len(parts) > 2 else "original"
    code = IBSI_CODES.get(key)
    if code is None:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
        code = nbr(f"RAD-{digest}", f"pyradiomics {key}"[:64])  # code values hold at most 16 characters
    return code, image_type
