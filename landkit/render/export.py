"""summary.json and results.gpkg writers (renderers: they never recompute figures)."""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InputError

LEDGER_TABLE_PREFIX = "台账_"      # results.gpkg attribute tables holding the ledger's sheets


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


def _is_null(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v))


def _gpkg_column(col: pd.Series) -> pd.Series:
    """A column GeoPackage can store: lists joined with 、, dates as datetime64, booleans as 0/1,
    nullable integers as float, any other mixed object column as text."""
    if col.dtype == object or str(col.dtype).startswith(("string", "str")):
        if pd.api.types.infer_dtype(col, skipna=True) in ("string", "empty"):   # text and blanks: as is
            return col.astype(object).where(col.notna(), None)
        vals = [v for v in col.tolist() if not _is_null(v)]
        if vals and all(isinstance(v, dt.date) for v in vals):
            return pd.to_datetime(col, errors="coerce")
        if vals and all(isinstance(v, (bool, np.bool_)) for v in vals):
            return col.map(lambda v: None if _is_null(v) else int(v)).astype("float64")
        return col.map(lambda v: "、".join(map(str, v)) if isinstance(v, (list, tuple))
                       else (None if _is_null(v) else str(v)))
    if str(col.dtype) == "Int64":
        return col.astype("float64")
    if col.dtype == bool:
        return col.astype("int32")
    return col


def write_gpkg(layers: dict[str, pd.DataFrame], path: Path) -> None:
    """Each result layer (Chinese layer and field names) into one GeoPackage.

    A GeoDataFrame becomes a feature layer; a plain DataFrame (a ledger table) becomes an
    attribute table without geometry.
    """
    import pyogrio
    path = Path(path)
    for name, frame in layers.items():
        df = frame.copy()
        geom = df.geometry.name if isinstance(df, gpd.GeoDataFrame) else None
        for c in df.columns:
            if c != geom:
                df[c] = _gpkg_column(df[c])
        if geom is None:
            pyogrio.write_dataframe(df, path, layer=name, driver="GPKG")
        else:
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


def atomic_write(path: Path, write) -> None:
    """Write a file through a hidden temporary file beside it, renamed into place only when
    ``write(temporary path)`` returned, so a reader never sees a half-written file. The file gets
    the permissions a new file would get (umask)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text_atomic(text: str, path: Path) -> None:
    """``text`` to ``path`` (UTF-8) atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def publish_staged(tmp: Path, out_dir: Path) -> None:
    """Move every file of a staging folder (:func:`staging_folder`) into ``out_dir`` and remove the
    staging folder. InputError when the move fails."""
    try:
        for f in sorted(tmp.iterdir()):
            os.chmod(f, 0o644)
            os.replace(f, out_dir / f.name)
    except OSError as e:
        raise InputError(f"写出结果失败（{e.strerror or e}）", file=out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def staged_outputs(out_dir: Path):
    """``with staged_outputs(out) as tmp:`` write the outputs into ``tmp``; when the block ends
    without error they are moved into ``out`` together, else ``tmp`` is removed and ``out`` is
    left as it was (an OSError becomes an InputError naming the folder)."""
    tmp = staging_folder(out_dir)
    try:
        yield tmp
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputError(f"写出结果失败（{e.strerror or e}）", file=out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    publish_staged(tmp, out_dir)
