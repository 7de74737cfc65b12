"""The overlay engine: how much of each feature of A lies in layer B (ellipsoidal m²).

:mod:`~landkit.overlay.engine` (overlay_areas, partition, overlapping_pairs), built on
:mod:`~landkit.overlay.pairarea` (areas of polygon-pair intersections without building them) and
:mod:`~landkit.overlay.threads` (the thread budget, ``LANDKIT_THREADS``).
"""
from .engine import OverlayResult, overlapping_pairs, overlay_areas, partition

__all__ = ["OverlayResult", "overlay_areas", "overlapping_pairs", "partition"]
