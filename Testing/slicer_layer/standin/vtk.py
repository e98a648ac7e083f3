"""Stand-in for the two VTK constants the NBRisk layer uses."""


class vtkCommand:
    ModifiedEvent = 33


class vtkCornerAnnotation:
    LowerLeft, LowerRight, UpperLeft, UpperRight = 0, 1, 2, 3
