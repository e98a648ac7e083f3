"""Reading images and masks onto one voxel grid (NRRD, NIfTI, DICOM series, Slicer and DICOM SEG)."""
