"""summary.json and results.gpkg writers (renderers: they never recompute figures)."""
from __future__ import annotations

import json
import tempfile
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InputError


def json_ready(o):
    """JSON-ready: numpy scalars → Python, NaN → None, dates → ISO strings."""
    if isinstance(o, dict):
        return {str(k): json_ready(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [json_ready(v) for v in o]
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float):
        return None if not math.isfinite(o) else o
    if o is pd.NA or o is pd.NaT:
        return None
    if hasattr(o, "isoformat"):
        return o.isoformat()
    return o


def write_json(summary: dict, path: Path) -> None:
    Path(path).write_text(json.dumps(json_ready(summary), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_gpkg(layers: dict[str, gpd.GeoDataFrame], path: Path) -> None:
    """Each result layer (Chinese layer and field names) into one GeoPackage."""
    path = Path(path)
    for name, gdf in layers.items():
        df = gdf.copy()
        for c in df.columns:
            if c == df.geometry.name:
                continue
            if df[c].dtype == object or str(df[c].dtype).startswith(("string", "str")):
                df[c] = df[c].map(lambda v: "、".join(map(str, v)) if isinstance(v, (list, tuple))
                                  else (None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))
                                        else str(v)))
            elif str(df[c].dtype) == "Int64":
                df[c] = df[c].astype("float64")
            elif df[c].dtype == bool:
                df[c] = df[c].astype("int32")
        df.to_file(path, layer=name, driver="GPKG", engine="pyogrio")


def staging_folder(out_dir: Path) -> Path:
    """A fresh hidden folder inside ``out_dir`` where outputs are written before they are moved
    into place together (so a failed run leaves no half-written file). InputError if unwritable."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".landkit-", dir=out_dir))
    except OSError as e:
        raise InputError(f"输出文件夹无法写入（{e.strerror or e}）", file=out_dir)
    return tmp
