"""A voxel grid without voxels: the geometry every image and mask check is made against."""

from __future__ import annotations

from dataclasses import dataclass

import SimpleITK as sitk


@dataclass(frozen=True, slots=True)
class Grid:
    """An image's voxel grid without its voxels (read from the file header): stands in for a reference image.

    Offers the geometry methods of ``sitk.Image`` that grid checks use (size, spacing, origin, direction,
    physical point to index), so a mask can be checked against and put on an image's grid before, or
    instead of, reading the image's voxels.
    """

    size: tuple[int, ...]
    spacing: tuple[float, ...]
    origin: tuple[float, ...]
    direction: tuple[float, ...]

    @classmethod
    def of(cls, image: sitk.Image | Grid) -> Grid:
        if isinstance(image, Grid):
            return image
        return cls(image.GetSize(), image.GetSpacing(), image.GetOrigin(), image.GetDirection())

    def GetSize(self) -> tuple[int, ...]:  # noqa: N802 (sitk.Image's names)
        return self.size

    def GetSpacing(self) -> tuple[float, ...]:  # noqa: N802
        return self.spacing

    def GetOrigin(self) -> tuple[float, ...]:  # noqa: N802
        return self.origin

    def GetDirection(self) -> tuple[float, ...]:  # noqa: N802
        return self.direction

    def TransformPhysicalPointToContinuousIndex(self, point: tuple[float, ...]) -> tuple[float, ...]:  # noqa: N802
        return self._probe().TransformPhysicalPointToContinuousIndex([float(v) for v in point])

    def TransformContinuousIndexToPhysicalPoint(self, index: tuple[float, ...]) -> tuple[float, ...]:  # noqa: N802
        return self._probe().TransformContinuousIndexToPhysicalPoint([float(v) for v in index])

    def _probe(self) -> sitk.Image:
        """A one-voxel image on this grid: ITK's own index/point arithmetic, bit for bit."""
        return self.apply(sitk.Image([1] * len(self.size), sitk.sitkUInt8))

    def apply(self, image: sitk.Image) -> sitk.Image:
        """Give ``image`` this grid's spacing, origin and direction (it keeps its own size); returns it."""
        image.SetSpacing(self.spacing)
        image.SetOrigin(self.origin)
        image.SetDirection(self.direction)
        return image
