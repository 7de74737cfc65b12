"""Ellipsoid and Gauss-Krüger (transverse Mercator) parameters of a CRS.

Shared by the area formulas (:mod:`landkit.standards.area`) and the overlay's pair-area
kernel (:mod:`landkit.overlay.pairarea`). Angles in radians, lengths in metres.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyproj

from landkit.errors import InputError

__all__ = ["AreaInputError", "Ellipsoid", "TM", "crs_of", "ellipsoid_of", "tm_params"]

class AreaInputError(InputError, ValueError):
    """Bad input to the area functions (e.g. no CRS): a ValueError and a landkit InputError."""


TM_METHOD_CODES = {"9807"}
TM_METHOD_NAMES = {"transverse mercator", "gauss-kruger", "gauss kruger", "gauss_kruger"}



@dataclass(frozen=True)
class Ellipsoid:
    """An ellipsoid: a, b in metres; e2 first eccentricity squared; n third flattening."""

    a: float
    b: float
    e2: float
    n: float


def ellipsoid_of(crs: pyproj.CRS) -> Ellipsoid:
    """Semi-axes (m), first eccentricity squared and third flattening of the CRS's ellipsoid."""
    ell = crs.ellipsoid
    if ell is None:
        raise AreaInputError(f"无法计算椭球面积：坐标参考系“{crs.name}”没有椭球参数")
    a = float(ell.semi_major_metre)
    invf = float(ell.inverse_flattening or 0.0)
    if invf > 0.0:
        f = 1.0 / invf
        b = a * (1.0 - f)
    else:  # a sphere, or an ellipsoid given by a and b only
        b = float(ell.semi_minor_metre)
        f = (a - b) / a
    return Ellipsoid(a=a, b=b, e2=f * (2.0 - f), n=f / (2.0 - f))


@dataclass(frozen=True)
class TM:
    """Transverse Mercator parameters; angles in radians, lengths in metres."""

    ell: Ellipsoid
    lat0: float
    lon0: float
    k0: float
    fe: float
    fn: float
    unit: float  # metres per CRS linear unit


def crs_of(crs: Any) -> pyproj.CRS:
    """The horizontal pyproj CRS of anything pyproj accepts (bound and compound CRS unwrapped)."""
    if crs is None:
        raise AreaInputError("无法计算椭球面积：缺少坐标参考系")
    crs = pyproj.CRS.from_user_input(crs)
    if crs.is_bound:  # e.g. a PROJ string with +towgs84
        crs = crs.source_crs
    if crs.is_compound:  # horizontal part of a compound CRS
        crs = crs.sub_crs_list[0]
    return crs


def operation_param(op, code: int, default: float) -> float:
    """An EPSG-coded parameter of a coordinate operation, in SI units (radians, metres)."""
    for p in op.params:
        if str(p.code) == str(code):
            return float(p.value) * float(p.unit_conversion_factor or 1.0)
    return default


def tm_params(crs: pyproj.CRS) -> TM | None:
    """TM parameters of a projected CRS, or None if it is not plain (east, north) TM."""
    if not crs.is_projected:
        return None
    op = crs.coordinate_operation
    if op is None:
        return None
    code = str(op.method_code or "")
    name = (op.method_name or "").strip().lower()
    if code not in TM_METHOD_CODES and name not in TM_METHOD_NAMES:
        return None  # includes 'south orientated' TM, which has its own method code
    axes = crs.axis_info
    if {a.direction.lower() for a in axes[:2]} != {"east", "north"}:
        return None
    return TM(
        ell=ellipsoid_of(crs),
        lat0=operation_param(op, 8801, 0.0),
        lon0=operation_param(op, 8802, 0.0),
        k0=operation_param(op, 8805, 1.0),
        fe=operation_param(op, 8806, 0.0),
        fn=operation_param(op, 8807, 0.0),
        unit=float(axes[0].unit_conversion_factor or 1.0),
    )
