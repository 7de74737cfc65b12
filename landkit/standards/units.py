"""Area units and presentation rounding.

Official areas are stored in square metres (m²). 1 亩 = 2000/3 m² exactly, so
亩 = m² × 3/2000; 1 公顷 = 10 000 m² = 15 亩. Round only when presenting.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np

MU_PER_M2 = 3.0 / 2000.0
HA_PER_M2 = 1.0 / 10000.0


def m2_to_mu(m2):
    """Square metres → 亩 (exact factor 3/2000). Works on scalars and arrays."""
    return np.asarray(m2, dtype="float64") * 3.0 / 2000.0 if not np.isscalar(m2) else m2 * 3.0 / 2000.0


def m2_to_ha(m2):
    """Square metres → 公顷 (÷ 10 000)."""
    return np.asarray(m2, dtype="float64") / 10000.0 if not np.isscalar(m2) else m2 / 10000.0


def mu_to_m2(mu):
    """亩 → square metres (× 2000/3)."""
    return np.asarray(mu, dtype="float64") * 2000.0 / 3.0 if not np.isscalar(mu) else mu * 2000.0 / 3.0


def round_half_up(x, ndigits: int = 2):
    """Round for presentation the way a person does (0.125 → 0.13, −0.125 → −0.13).

    Python's round() and numpy round half to even and suffer from binary representation
    (round(2.675, 2) == 2.67). This rounds the shortest decimal repr of the float, so what
    you see is what is rounded. Scalars return float; arrays return a float ndarray;
    NaN/None stay NaN.
    """
    if np.isscalar(x) or x is None:
        return _rhu(x, ndigits)
    arr = np.asarray(x, dtype="float64")
    # Away from a tie (…5 in the next digit) rounding the float and rounding its decimal repr
    # agree, and rint(x·10ⁿ)/10ⁿ is the float nearest the rounded decimal, as float(Decimal)
    # is; only values near a tie go through Decimal.
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = arr * 10.0 ** ndigits
        out = np.rint(scaled) / 10.0 ** ndigits
        frac = np.abs(scaled - np.trunc(scaled))
        near = ~(np.abs(frac - 0.5) > 1e-3) | (np.abs(scaled) > 2.0 ** 52)
    near &= np.isfinite(arr)
    if near.any():
        out[near] = [_rhu(v, ndigits) for v in arr[near]]
    out[~np.isfinite(arr)] = arr[~np.isfinite(arr)]
    return out


def _rhu(v, ndigits):
    if v is None:
        return float("nan")
    v = float(v)
    if not np.isfinite(v) or abs(v) * 10.0 ** ndigits >= 2.0 ** 52:
        return v          # no digits left to round at that size (and beyond Decimal's 28 digits)
    q = Decimal(1).scaleb(-ndigits)
    return float(Decimal(repr(v)).quantize(q, rounding=ROUND_HALF_UP))
