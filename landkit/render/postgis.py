"""PostGIS output: a county's result layers and ledger tables into one schema per run.

``write_county_to_postgis(dsn, county_out_dir, schema)`` reads what ``landkit run`` wrote
(``summary.json`` and ``results.gpkg``: its result layers and the ledger's tables, stored there
as ``台账_<sheet>``; ``ledger.xlsx`` is never read back) and writes it into PostGIS so the
results can join a province's 一张图 database:

* one schema per run (default ``landkit_<YYYYMMDD_HHMMSS>``; any name may be given, and writing
  the same county again into the same schema replaces its rows);
* every row carries the county's ``adcode`` (and ``county_name``), so the tables of many
  counties stack;
* result layers keep their fields; geometry goes to column ``geom`` as
  ``geometry(MultiPolygon, 4490)`` (CGCS2000 geographic: counties in different 3° zones share
  one table), with the source SRID in ``src_srid`` and a GiST index;
* ledger sheets become tables ``ledger_*`` (the sheet's columns and rows; no 合计 row);
* ``counties`` holds one row per county with its headline figures and the whole summary as
  ``jsonb``; ``landkit_tables`` lists every table with its Chinese title (also set as the
  table's COMMENT).

Known layers and sheets get ASCII table names (``satellite_patches``, ``yjjbnt_overlap_supply``,
``ledger_satellite_townships``, ...); others keep their Chinese name (quoted identifiers,
at most 63 bytes). Column types follow the data (bigint, double precision, boolean, date,
timestamp, text, jsonb); a column that changes type between counties becomes text.

Requires ``psycopg`` (3.x). Everything for one county is written in one transaction.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, LandkitError
from .export import LEDGER_TABLE_PREFIX

DB_SRID = 4490
CATALOG = "landkit_tables"
COUNTY_TABLE = "counties"
FAILURE_TABLE = "failures"

LAYER_TABLES = {
    "卫片图斑结果": "satellite_patches",
    "永农压占_批准用地": "yjjbnt_overlap_approvals", "永农压占_供地": "yjjbnt_overlap_supply",
    "永农压占_宗地": "yjjbnt_overlap_parcels", "永农压占_卫片图斑": "yjjbnt_overlap_patches",
    "批而未供": "inventory_approved_unsupplied", "闲置土地": "inventory_idle",
    "城镇低效用地": "inventory_inefficient", "农村集体经营性建设用地": "inventory_collective_commercial",
    "批而未供处置": "disposal_approved_unsupplied", "闲置土地处置": "disposal_idle",
}
SHEET_TABLES = {
    "卫片统计": "ledger_satellite_townships", "卫片图斑清单": "ledger_satellite_patches",
    "永农压占清单": "ledger_yjjbnt_overlap", "数据质检": "ledger_qa",
    "存量汇总": "ledger_inventory_summary", "批而未供": "ledger_approved_unsupplied", "闲置土地": "ledger_idle",
    "城镇低效用地": "ledger_inefficient", "农村集体经营性建设用地": "ledger_collective_commercial",
    "处置率": "ledger_disposal", "汇总": "ledger_overview", "低效用地": "ledger_inefficient",
    "集体经营性建设用地": "ledger_collective_commercial",
}

_PG_TYPES = {"bigint", "double precision", "boolean", "date", "timestamp without time zone",
             "timestamp with time zone", "text", "jsonb"}


class DatabaseError(LandkitError):
    """The database cannot be reached or written."""


def _psycopg():
    try:
        import psycopg
        return psycopg
    except ImportError as e:
        raise DatabaseError(f"写入 PostGIS 需要 psycopg：pip install \"psycopg[binary]\"（{e}）")


def _safe_dsn(dsn: str) -> str:
    """The DSN with any password masked (for messages)."""
    s = re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", str(dsn))
    return re.sub(r"(password\s*=\s*)\S+", r"\1***", s)


def connect(dsn: str):
    """A psycopg connection (autocommit off)."""
    psycopg = _psycopg()
    try:
        return psycopg.connect(dsn, connect_timeout=10)
    except psycopg.Error as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DatabaseError(f"无法连接数据库 {_safe_dsn(dsn)}（{msg}）")


def check_database(dsn: str) -> str:
    """Connect, make sure PostGIS is available (creating the extension if allowed); return its version."""
    psycopg = _psycopg()
    with connect(dsn) as conn:
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
                row = cur.fetchone()
                if row is None:
                    cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
                    cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
                    row = cur.fetchone()
            conn.commit()
        except psycopg.Error as e:
            raise DatabaseError(f"数据库 {_safe_dsn(dsn)} 没有 PostGIS 扩展，且无法创建"
                                f"（{str(e).strip().splitlines()[0]}）；请由管理员执行 CREATE EXTENSION postgis")
    return row[0]


def default_schema(when: dt.datetime | None = None) -> str:
    """``landkit_YYYYMMDD_HHMMSS`` for the given (default: current) time."""
    return f"landkit_{(when or dt.datetime.now()).strftime('%Y%m%d_%H%M%S')}"


def _ident(name: str, taken: set | None = None) -> str:
    """A PostgreSQL identifier of at most 63 bytes (cut at a character boundary), unique in ``taken``."""
    s = re.sub(r"[\x00-\x1f]", "", str(name)).strip() or "col"
    b = s.encode("utf-8")
    if len(b) > 63:
        s = b[:63].decode("utf-8", errors="ignore")
    if taken is not None:
        base, k = s, 2
        while s.lower() in taken:
            suffix = f"_{k}"
            s = base.encode("utf-8")[:63 - len(suffix)].decode("utf-8", errors="ignore") + suffix
            k += 1
        taken.add(s.lower())
    return s


def table_for_layer(name: str) -> str:
    return LAYER_TABLES.get(name) or _ident(name)


def table_for_sheet(name: str) -> str:
    return SHEET_TABLES.get(name) or _ident(f"ledger_{name}")


# --------------------------------------------------------------------------------------
# reading a county's outputs
# --------------------------------------------------------------------------------------

def read_county_outputs(out_dir) -> dict:
    """{"summary", "layers": {name: GeoDataFrame}, "tables": {sheet: DataFrame}} from a county's output folder.

    Everything comes from ``summary.json`` and ``results.gpkg``: the feature layers, and the
    ledger's sheets, which ``landkit run`` stores there as attribute tables ``台账_<sheet>``
    (``ledger.xlsx`` is for people and is never read back).
    """
    import pyogrio
    d = Path(out_dir)
    sp = d / "summary.json"
    if not sp.is_file():
        raise InputError("没有找到 summary.json：这不是 landkit run 的输出文件夹", file=d)
    summary = json.loads(sp.read_text(encoding="utf-8"))
    layers, tables = {}, {}
    gp = d / "results.gpkg"
    if gp.is_file():
        for name, _ in pyogrio.list_layers(gp):
            name = str(name)
            if name.startswith(LEDGER_TABLE_PREFIX):
                df = pd.DataFrame(pyogrio.read_dataframe(gp, layer=name, read_geometry=False))
                taken: set = set()
                df.columns = [_ident(c, taken) for c in df.columns]
                tables[name[len(LEDGER_TABLE_PREFIX):]] = df
            else:
                layers[name] = pyogrio.read_dataframe(gp, layer=name)
    return {"summary": summary, "layers": layers, "tables": tables, "path": str(d)}


# --------------------------------------------------------------------------------------
# typing and conversion
# --------------------------------------------------------------------------------------

def _py(v):
    """A value psycopg can COPY: Python scalars, None for NaN/NaT/NA."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, (list, tuple, np.ndarray)):
        return "、".join(map(str, v))
    return v


def _pg_type(values: list, dtype=None) -> str:
    """The column type for these values (the pandas dtype decides when every value is null)."""
    vals = [v for v in values if v is not None]
    if not vals:
        if dtype is not None:
            if pd.api.types.is_bool_dtype(dtype):
                return "boolean"
            if pd.api.types.is_integer_dtype(dtype):
                return "bigint"
            if pd.api.types.is_float_dtype(dtype):
                return "double precision"
            if pd.api.types.is_datetime64_any_dtype(dtype):
                return "timestamp without time zone"
        return "text"
    if all(isinstance(v, bool) for v in vals):
        return "boolean"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        return "bigint" if all(-2**63 <= v < 2**63 for v in vals) else "text"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
        return "double precision"
    if all(isinstance(v, dt.datetime) for v in vals):
        return "timestamp with time zone" if any(v.tzinfo for v in vals) else "timestamp without time zone"
    if all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in vals):
        return "date"
    if all(isinstance(v, dict) for v in vals):
        return "jsonb"
    return "text"


def _as_text(v):
    if v is None:
        return None
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False, default=str)
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return str(v)


def _geoms_to_ewkb(geoseries) -> tuple[list, str, int | None]:
    """(hex EWKB in EPSG:4490 or None per row, typmod geometry type, source SRID)."""
    import shapely
    src = geoseries.crs.to_epsg() if geoseries.crs is not None else None
    gs = geoseries.to_crs(DB_SRID) if geoseries.crs is not None else geoseries
    g = np.asarray(gs.values, dtype=object)
    missing = shapely.is_missing(g) | shapely.is_empty(g)
    types = set(shapely.get_type_id(g[~missing]).tolist())
    if types <= {3, 6}:               # Polygon / MultiPolygon → MultiPolygon
        poly = shapely.get_type_id(g) == 3
        g = g.copy()
        g[poly & ~missing] = [shapely.MultiPolygon([p]) for p in g[poly & ~missing]]
        gtype = "MultiPolygon"
    else:
        gtype = "Geometry"
    g = shapely.set_srid(g, DB_SRID)
    hexes = shapely.to_wkb(g, hex=True, include_srid=True)
    return [None if m else h for h, m in zip(hexes.tolist(), missing.tolist())], gtype, src


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------

class _Writer:
    def __init__(self, conn, schema: str):
        from psycopg import sql
        self.sql = sql
        self.conn = conn
        self.schema = schema

    def q(self, table):
        return self.sql.Identifier(self.schema, table)

    def ensure_schema(self):
        with self.conn.cursor() as cur:
            cur.execute(self.sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(self.sql.Identifier(self.schema)))
            cur.execute(self.sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (table_name text PRIMARY KEY, kind text, title text, srid integer, "
                "updated_at timestamptz DEFAULT now())").format(self.q(CATALOG)))

    def columns(self, table) -> dict[str, str]:
        with self.conn.cursor() as cur:
            cur.execute("SELECT column_name, data_type, udt_name FROM information_schema.columns "
                        "WHERE table_schema = %s AND table_name = %s", (self.schema, table))
            return {r[0]: (r[2] if r[1] == "USER-DEFINED" else r[1]) for r in cur.fetchall()}

    def geometry_type(self, table) -> str | None:
        with self.conn.cursor() as cur:
            cur.execute("SELECT type FROM geometry_columns WHERE f_table_schema = %s AND f_table_name = %s "
                        "AND f_geometry_column = 'geom'", (self.schema, table))
            row = cur.fetchone()
            return row[0].upper() if row else None

    def write(self, table: str, df: pd.DataFrame, *, kind: str, title: str, key: dict,
              const: dict | None = None, geom: tuple | None = None) -> int:
        """Replace the rows of ``key`` (e.g. {"adcode": ...}) in ``table`` by ``df``, with the key
        columns and the ``const`` columns (same value on every row) in front."""
        sql = self.sql
        const = const or {}
        if const:
            df = df.copy()
            for i, (k, v) in enumerate(const.items()):
                if k in df.columns:
                    df = df.rename(columns={k: f"{k}_src"})
                df.insert(i, k, v)
        taken = {k.lower() for k in key} | ({"geom", "src_srid"} if geom else set())
        names = []
        for c in df.columns:
            n = str(c)
            if n.lower() in taken:
                n = f"{n}_src"
            names.append(_ident(n, taken))
        data = {n: [_py(v) for v in df[c].tolist()] for n, c in zip(names, df.columns)}
        types = {n: _pg_type(data[n], df[c].dtype) for n, c in zip(names, df.columns)}
        keytypes = {k: _pg_type([v]) if v is not None else "text" for k, v in key.items()}
        existing = self.columns(table)
        with self.conn.cursor() as cur:
            if not existing:
                defs = [sql.SQL("{} {}").format(sql.Identifier(k), sql.SQL(t)) for k, t in keytypes.items()]
                defs += [sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(types[n])) for n in names]
                if geom:
                    defs += [sql.SQL("src_srid integer"),
                             sql.SQL("geom geometry({}, {})").format(sql.SQL(geom[1]), sql.Literal(DB_SRID))]
                cur.execute(sql.SQL("CREATE TABLE {} ({})").format(self.q(table), sql.SQL(", ").join(defs)))
                if geom:
                    cur.execute(sql.SQL("CREATE INDEX ON {} USING gist (geom)").format(self.q(table)))
                if "adcode" in key:
                    cur.execute(sql.SQL("CREATE INDEX ON {} (adcode)").format(self.q(table)))
                cur.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(self.q(table), sql.Literal(title)))
                existing = self.columns(table)
            else:
                for n in names:
                    if n not in existing:
                        cur.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                            self.q(table), sql.Identifier(n), sql.SQL(types[n])))
                        existing[n] = types[n]
                    elif existing[n] != types[n] and not _compatible(existing[n], types[n], data[n]):
                        if existing[n] == "bigint" and types[n] == "double precision":
                            cur.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE double precision").format(
                                self.q(table), sql.Identifier(n)))
                            existing[n] = "double precision"
                        elif existing[n] != "text":
                            cur.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE text USING {}::text").format(
                                self.q(table), sql.Identifier(n), sql.Identifier(n)))
                            existing[n] = "text"
                if geom and geom[1] != "MultiPolygon" and self.geometry_type(table) == "MULTIPOLYGON":
                    cur.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN geom TYPE geometry(Geometry, {})").format(
                        self.q(table), sql.Literal(DB_SRID)))
            for n in names:
                if existing.get(n) == "text" and types[n] != "text":
                    data[n] = [_as_text(v) for v in data[n]]
                elif existing.get(n) == "jsonb":
                    from psycopg.types.json import Jsonb
                    data[n] = [None if v is None else Jsonb(v) for v in data[n]]
            where = sql.SQL(" AND ").join(sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder())
                                          for k in key)
            cur.execute(sql.SQL("DELETE FROM {} WHERE {}").format(self.q(table), where), list(key.values()))
            cols = list(key) + names + (["src_srid", "geom"] if geom else [])
            copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
                self.q(table), sql.SQL(", ").join(sql.Identifier(c) for c in cols))
            n = len(df)
            keyvals = list(key.values())
            with cur.copy(copy) as cp:
                for i in range(n):
                    row = keyvals + [data[c][i] for c in names]
                    if geom:
                        row += [geom[2], geom[0][i]]
                    cp.write_row(row)
            cur.execute(sql.SQL(
                "INSERT INTO {} (table_name, kind, title, srid, updated_at) VALUES (%s, %s, %s, %s, now()) "
                "ON CONFLICT (table_name) DO UPDATE SET kind = EXCLUDED.kind, title = EXCLUDED.title, "
                "srid = EXCLUDED.srid, updated_at = now()").format(self.q(CATALOG)),
                (table, kind, title, DB_SRID if geom else None))
        return n


def _compatible(existing: str, new: str, values: list) -> bool:
    if all(v is None for v in values):
        return True
    if existing == "text":
        return True          # anything converts to text (done by the caller)
    if existing == "double precision" and new == "bigint":
        return True
    return existing == new


def _county_row(summary: dict, status: str | None, path: str | None) -> pd.DataFrame:
    from .rollup import headline
    h = headline(summary)
    row = {"name": h.pop("name"), "status": status or "ok", "year": h.pop("year"),
           "as_of": dt.date.fromisoformat(h["as_of"]) if isinstance(h.get("as_of"), str) else h.get("as_of"),
           "crs": (summary.get("county") or {}).get("crs"),
           "generated_at": summary.get("generated_at"), "landkit_version": summary.get("landkit_version"),
           "output_dir": path}
    h.pop("adcode", None)
    h.pop("as_of", None)
    row.update(h)
    row["summary"] = summary
    return pd.DataFrame([row])


def write_county_to_postgis(dsn, county_out_dir_or_results, schema: str | None = None, *,
                            adcode: str | None = None, status: str | None = None) -> dict:
    """Write one county's results into PostGIS schema ``schema`` (created if needed).

    Parameters
    ----------
    dsn : a PostgreSQL connection string (``postgresql://user:pass@host:5432/db``) or an open
        psycopg connection
    county_out_dir_or_results : the county's ``landkit run`` output folder, or a dict
        ``{"summary": dict, "layers": {name: GeoDataFrame}, "tables": {name: DataFrame}}``
    schema : schema name (default ``landkit_<YYYYMMDD_HHMMSS>``)
    adcode : overrides the summary's ``county.adcode``
    status : written to ``counties.status`` (default "ok")

    Returns ``{"schema": name, "adcode": code, "tables": {table: rows written}}``. Rows of this
    adcode already in the schema's tables are replaced (idempotent). Raises
    :class:`DatabaseError` when the database cannot be reached or written, and
    :class:`~landkit.errors.InputError` when the county has no adcode.
    """
    psycopg = _psycopg()
    src = county_out_dir_or_results
    res = read_county_outputs(src) if isinstance(src, (str, Path)) else dict(src)
    summary = res.get("summary") or {}
    county = summary.get("county") or {}
    code = adcode or county.get("adcode")
    if not code:
        raise InputError("无法确定该县的行政区代码（adcode），不能写入数据库；请在 landkit.toml 的 [county] 中写明 adcode",
                         file=res.get("path"))
    code = str(code)
    schema = schema or default_schema()
    key = {"adcode": code}
    const = {"county_name": county.get("name")}
    own = not hasattr(dsn, "cursor")
    conn = connect(dsn) if own else dsn
    written = {}
    try:
        w = _Writer(conn, schema)
        w.ensure_schema()
        written[COUNTY_TABLE] = w.write(COUNTY_TABLE, _county_row(summary, status, res.get("path")),
                                        kind="summary", title="各县（区）分析摘要（summary.json）", key=key)
        for name, gdf in (res.get("layers") or {}).items():
            table = table_for_layer(name)
            geom = None
            attrs = pd.DataFrame(gdf)
            if hasattr(gdf, "geometry") and getattr(gdf, "_geometry_column_name", None) in gdf.columns:
                geom = _geoms_to_ewkb(gdf.geometry)
                attrs = attrs.drop(columns=[gdf._geometry_column_name])
            written[table] = w.write(table, attrs, kind="layer", title=name, key=key, const=const, geom=geom)
        for name, df in (res.get("tables") or {}).items():
            table = table_for_sheet(name)
            written[table] = w.write(table, df, kind="ledger", title=f"台账：{name}", key=key, const=const)
        conn.commit()
    except psycopg.Error as e:
        conn.rollback()
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DatabaseError(f"写入数据库模式 {schema} 失败（{msg}）")
    finally:
        if own:
            conn.close()
    return {"schema": schema, "adcode": code, "tables": written}


def write_failures(dsn, schema: str, failures: list[dict]) -> int:
    """Record a batch's failed counties in ``<schema>.failures`` (adcode from the folder name when it starts with one)."""
    if not failures:
        return 0
    psycopg = _psycopg()
    own = not hasattr(dsn, "cursor")
    conn = connect(dsn) if own else dsn
    try:
        w = _Writer(conn, schema)
        w.ensure_schema()
        n = 0
        for f in failures:
            m = re.match(r"^(\d{6})", f.get("folder") or "")
            key = {"folder": f.get("folder")}
            df = pd.DataFrame([{"adcode": m.group(1) if m else None, "input": f.get("input"),
                                "message": f.get("message"), "error_type": f.get("error_type"),
                                "recorded_at": dt.datetime.now().astimezone()}])
            n += w.write(FAILURE_TABLE, df, kind="failures", title="分析失败的县（区）", key=key)
        conn.commit()
        return n
    except psycopg.Error as e:
        conn.rollback()
        raise DatabaseError(f"写入数据库模式 {schema} 失败（{str(e).strip().splitlines()[0]}）")
    finally:
        if own:
            conn.close()
