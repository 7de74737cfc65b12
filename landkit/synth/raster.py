"""A small false-colour (colour-infrared style) image rendered from the land-use map."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio import features
from rasterio.transform import Affine

from ._base import Frame
from ._util import Noise, rng_for

# colour-infrared look: vegetation red, water dark blue, built-up cyan-grey
CIR = {
    "0101": (214, 96, 112), "0102": (200, 112, 118), "0103": (190, 128, 118),
    "0201": (172, 64, 78), "0202": (160, 58, 72), "0204": (178, 84, 92),
    "0301": (128, 22, 42), "0302": (118, 30, 50), "0305": (150, 52, 64), "0307": (160, 74, 84),
    "0404": (182, 118, 112),
    "05H1": (168, 190, 200), "0508": (186, 196, 198), "0601": (192, 205, 210), "0602": (206, 204, 192),
    "0701": (158, 172, 184), "0702": (146, 140, 150), "08H1": (160, 176, 186), "08H2": (164, 170, 180),
    "0809": (176, 186, 190), "0810": (150, 66, 80), "09": (150, 160, 170),
    "1003": (172, 180, 186), "1004": (150, 160, 168), "1005": (178, 186, 190), "1006": (164, 140, 134),
    "1008": (170, 176, 178), "1101": (18, 38, 86), "1102": (24, 48, 94), "1104": (32, 62, 102),
    "1106": (150, 158, 150), "1107": (40, 70, 110), "1109": (160, 168, 172),
    "1201": (184, 172, 162), "1202": (176, 150, 150), "1203": (196, 116, 116), "1206": (212, 202, 186),
}


def render_image(fr: Frame, geoms, dlbm, path: Path, seed: int, *, max_px: int = 1500, res: float = 30.0) -> Path:
    rng = rng_for(seed, "image")
    x0, y0, x1, y1 = fr.boundary.bounds
    res = max(res, float(np.ceil(max(x1 - x0, y1 - y0) / max_px)))
    x0, y1 = np.floor(x0 / res) * res, np.ceil(y1 / res) * res
    w = int(np.ceil((x1 - x0) / res))
    h = int(np.ceil((y1 - y0) / res))
    transform = Affine(res, 0.0, x0, 0.0, -res, y1)
    # one colour per polygon: the class colour with a per-field brightness/tint variation
    n = len(dlbm)
    base = np.array([CIR.get(c, (0, 0, 0)) for c in dlbm], dtype=np.float32)
    veg = np.array([c[:2] in ("01", "02", "03", "04") for c in dlbm])
    bright = 1.0 + rng.normal(0, 0.05, n) + veg * rng.normal(0, 0.07, n)
    tint = rng.normal(0, 6.0, (n, 3)) * veg[:, None]
    lut = np.zeros((n + 1, 3), np.float32)
    lut[1:] = base * bright[:, None] + tint
    lut[1:][base.sum(axis=1) == 0] = 0
    shapes = ((g, i + 1) for i, g in enumerate(geoms) if g is not None and not g.is_empty)
    cls = features.rasterize(shapes, out_shape=(h, w), transform=transform, fill=0, dtype="int32")
    rgb = lut[cls]                                    # (h, w, 3)
    xs = x0 + (np.arange(w) + 0.5) * res
    ys = y1 - (np.arange(h) + 0.5) * res
    gx, gy = np.meshgrid(xs, ys)
    tex = Noise(rng, fr.boundary.bounds, 400, octaves=2)(gx, gy)
    rgb *= (1.0 + 0.07 * tex)[..., None]
    rgb += rng.normal(0, 2.0, size=rgb.shape)
    out = np.clip(np.round(rgb), 1, 255).astype(np.uint8)
    out[cls == 0] = 0
    out = np.moveaxis(out, -1, 0)
    profile = dict(driver="GTiff", width=w, height=h, count=3, dtype="uint8", crs=f"EPSG:{fr.epsg}",
                   transform=transform, nodata=0, compress="deflate", predictor=2, tiled=True,
                   blockxsize=256, blockysize=256, photometric="RGB", zlevel=9)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(out)
        dst.update_tags(SOURCE="landkit.synth: synthetic false-colour image rendered from the DLTB classes")
    return Path(path)
