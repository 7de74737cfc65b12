"""PostGIS output against a real PostgreSQL + PostGIS server.

The server is found through ``LANDKIT_TEST_PG_DSN`` (e.g.
``postgresql://landkit:landkit@localhost/landkit_test``), else the DSNs below are tried; the
tests skip, saying why, only when no server answers.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid

import geopandas as gpd
import pandas as pd
import pytest
import shapely

psycopg = pytest.importorskip("psycopg", reason="psycopg 未安装：pip install -e .[db]")

from landkit.render import postgis as D  # noqa: E402
from landkit.errors import LandkitError  # noqa: E402

CANDIDATES = ["postgresql://landkit:landkit@localhost/landkit_test", "postgresql://postgres@localhost/postgres",
              "dbname=postgres"]


def _find_dsn() -> tuple[str | None, str]:
    env = os.environ.get("LANDKIT_TEST_PG_DSN")
    tried = []
    for dsn in ([env] if env else []) + CANDIDATES:
        try:
            with psycopg.connect(dsn, connect_timeout=3) as c, c.cursor() as cur:
                cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
                c.commit()
            return dsn, ""
        except psycopg.Error as e:
            tried.append(f"{D._safe_dsn(dsn)}: {str(e).strip().splitlines()[0] if str(e).strip() else e}")
    return None, "; ".join(tried)


@pytest.fixture(scope="module")
def dsn():
    d, why = _find_dsn()
    if d is None:
        pytest.skip(f"没有可用的 PostgreSQL/PostGIS 服务器（设置 LANDKIT_TEST_PG_DSN；尝试过：{why}）")
    return d


@pytest.fixture
def schema(dsn):
    name = f"lk_test_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(dsn) as c:
        c.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def q(dsn, sql, *params):
    with psycopg.connect(dsn) as c, c.cursor() as cur:
        cur.execute(sql, params or None)
        return cur.fetchall()


@pytest.fixture(scope="module")
def county_out(tmp_path_factory):
    """A small generated county, run once: (its data folder, its landkit run output folder)."""
    from landkit.pipeline.run import run_county
    from landkit.synth import make_county
    base = tmp_path_factory.mktemp("db")
    src = make_county(base / "in" / "420111_洪山样区", n_dltb=800, n_patches=40, seed=5, boundary=None,
                      adcode="420111", name="洪山样区", center_lonlat=(114.4, 30.5), area_km2=200, image=False)
    out = base / "out" / "420111_洪山样区"
    run_county(src, out)
    return src, out


def test_ledger_tables_come_from_the_results_not_the_workbook(dsn, schema, county_out, tmp_path):
    """With ledger.xlsx deleted, the ledger tables are still written (from results.gpkg), with the
    workbook's headers and rows."""
    import openpyxl
    _, out = county_out
    wb = openpyxl.load_workbook(out / "ledger.xlsx", data_only=True)
    ws = wb["卫片图斑清单"]
    header_row = next(r for r in range(1, 6) if ws.cell(r, 1).value == "监测编号")
    headers = [c.value for c in ws[header_row]]
    ids = sorted(str(c.value) for c in ws["A"][header_row:] if c.value not in (None, "合计"))
    copy = tmp_path / out.name
    shutil.copytree(out, copy)
    (copy / "ledger.xlsx").unlink()
    info = D.write_county_to_postgis(dsn, copy, schema)
    assert {D.table_for_sheet(t) for t in wb.sheetnames} <= set(info["tables"])
    cols = [r[0] for r in q(dsn, "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                                 "AND table_name = 'ledger_satellite_patches' ORDER BY ordinal_position", schema)]
    assert [c for c in cols if c in headers] == headers
    got = sorted(r[0] for r in q(dsn, f'SELECT "监测编号" FROM "{schema}".ledger_satellite_patches'))
    assert got == ids and len(ids) == info["tables"]["ledger_satellite_patches"] > 0


def test_write_county(dsn, schema, county_out):
    _, out = county_out
    info = D.write_county_to_postgis(dsn, out, schema)
    assert info["schema"] == schema and info["adcode"] == "420111"
    tables = {r[0] for r in q(dsn, "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", schema)}
    assert {"counties", "landkit_tables", "satellite_patches", "yjjbnt_overlap_approvals",
            "ledger_satellite_patches", "ledger_yjjbnt_overlap"} <= tables
    assert set(info["tables"]) <= tables
    # every row carries the adcode; geometries are valid MultiPolygons in EPSG:4490
    for t, n in info["tables"].items():
        rows = q(dsn, f'SELECT adcode, count(*) FROM "{schema}"."{t}" GROUP BY adcode')
        assert rows == [("420111", n)] or (n == 0 and rows == []), t
    g = gpd.read_file(out / "results.gpkg", layer="卫片图斑结果")
    (srid, gtype, n, valid, src), = q(dsn, f'SELECT min(ST_SRID(geom)), min(GeometryType(geom)), count(*), '
                                      f'bool_and(ST_IsValid(geom)), min(src_srid) FROM "{schema}".satellite_patches')
    assert (srid, gtype, n, valid) == (4490, "MULTIPOLYGON", len(g), True) and src == g.crs.to_epsg()
    # areas survive the trip (ellipsoidal area on CGCS2000 vs the gpkg's own figures)
    (area_m2,), = q(dsn, f'SELECT sum(ST_Area(geom::geography, true)) FROM "{schema}".satellite_patches')
    assert area_m2 * 3 / 2000 == pytest.approx(g["图斑面积_亩"].sum(), rel=1e-3)
    # attributes keep their Chinese field names and types
    cols = dict(q(dsn, "SELECT column_name, data_type FROM information_schema.columns "
                       "WHERE table_schema = %s AND table_name = 'satellite_patches'", schema))
    assert cols["监测编号"] == "text" and cols["图斑面积_亩"] == "double precision" and cols["county_name"] == "text"
    # the county row: headline figures + the whole summary as jsonb
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    (name, ratio, summ), = q(dsn, f'SELECT name, satellite_ratio, summary FROM "{schema}".counties')
    assert name == "洪山样区" and ratio == pytest.approx(s["satellite"]["ratio"])
    assert summ["satellite"]["patch_count"] == s["satellite"]["patch_count"]
    # ledger rows: data rows only (no 合计 row)
    (n_ledger,), = q(dsn, f'SELECT count(*) FROM "{schema}".ledger_satellite_patches')
    assert n_ledger == len(g)
    # the catalog and table comments carry the Chinese titles
    titles = dict(q(dsn, f'SELECT table_name, title FROM "{schema}".landkit_tables'))
    assert titles["satellite_patches"] == "卫片图斑结果" and titles["ledger_satellite_patches"] == "台账：卫片图斑清单"
    (comment,), = q(dsn, "SELECT obj_description(%s::regclass)", f'"{schema}".satellite_patches')
    assert comment == "卫片图斑结果"


def test_write_is_idempotent_and_counties_stack(dsn, schema, county_out):
    _, out = county_out
    a = D.write_county_to_postgis(dsn, out, schema)
    b = D.write_county_to_postgis(dsn, out, schema)                    # same county again: replaced
    assert a["tables"] == b["tables"]
    c = D.write_county_to_postgis(dsn, out, schema, adcode="420999")   # another county stacks
    rows = dict(q(dsn, f'SELECT adcode, count(*) FROM "{schema}".satellite_patches GROUP BY 1'))
    assert rows == {"420111": a["tables"]["satellite_patches"], "420999": c["tables"]["satellite_patches"]}


def test_columns_evolve_between_counties(dsn, schema):
    crs = "EPSG:4526"
    g1 = gpd.GeoDataFrame({"编号": ["a", "b"], "面积_亩": [1, 2]},
                          geometry=[shapely.box(38_560_000, 3_365_000, 38_560_100, 3_365_100)] * 2, crs=crs)
    g2 = gpd.GeoDataFrame({"编号": ["c"], "面积_亩": [1.5], "新字段": [True], "备注": [None]},
                          geometry=[shapely.MultiPolygon([shapely.box(38_560_000, 3_365_000, 38_560_100,
                                                                      3_365_100)])], crs=crs)
    tables = {"清单": pd.DataFrame({"指标": ["x", "y"], "值": [1, "二"]})}
    D.write_county_to_postgis(dsn, {"summary": {"county": {"adcode": "420001", "name": "甲"}},
                                    "layers": {"测试图层": g1}, "tables": tables}, schema)
    D.write_county_to_postgis(dsn, {"summary": {"county": {"adcode": "420002", "name": "乙"}},
                                    "layers": {"测试图层": g2}}, schema)
    cols = dict(q(dsn, "SELECT column_name, data_type FROM information_schema.columns "
                       "WHERE table_schema = %s AND table_name = '测试图层'", schema))
    assert cols["面积_亩"] == "double precision" and cols["新字段"] == "boolean"
    rows = q(dsn, f'SELECT adcode, 面积_亩, 新字段 FROM "{schema}"."测试图层" ORDER BY adcode, 编号')
    assert rows == [("420001", 1.0, None), ("420001", 2.0, None), ("420002", 1.5, True)]
    assert q(dsn, f'SELECT 值 FROM "{schema}"."ledger_清单" ORDER BY 指标') == [("1",), ("二",)]


def test_missing_adcode_and_unreachable_server(county_out, tmp_path):
    with pytest.raises(LandkitError, match="adcode"):
        D.write_county_to_postgis("postgresql://nobody@127.0.0.1:1/x", {"summary": {"county": {}}})
    with pytest.raises(D.DatabaseError, match="无法连接数据库") as e:
        D.check_database("postgresql://nobody:secret@127.0.0.1:1/x")
    assert "secret" not in str(e.value)


def test_batch_with_db(dsn, schema, county_out, tmp_path):
    """`landkit batch --db` on the default LocalCluster: good county in PostGIS, the failure recorded, exit 2."""
    src, _ = county_out
    root = tmp_path / "root"
    shutil.copytree(src, root / src.name)
    shutil.copytree(src, root / "420998_坏县")
    (root / "420998_坏县" / "DLTB.dbf").unlink()
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    r = subprocess.run([sys.executable, "-m", "landkit.cli", "batch", str(root), "-o",
                        str(tmp_path / "out"), "--workers", "2", "--db", dsn, "--db-schema", schema],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 2, r.stdout + r.stderr
    assert q(dsn, f'SELECT adcode, status FROM "{schema}".counties') == [("420111", "ok")]
    (folder, adcode, msg), = q(dsn, f'SELECT folder, adcode, message FROM "{schema}".failures')
    assert folder == "420998_坏县" and adcode == "420998" and ".dbf" in msg
    s = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert s["db_schema"] == schema
    assert next(c for c in s["counties"] if c["status"] == "ok")["db"]["tables"]["satellite_patches"] > 0


def test_batch_with_unreachable_db_fails_before_running(tmp_path, county_out):
    src, _ = county_out
    root = tmp_path / "root"
    shutil.copytree(src, root / src.name)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    r = subprocess.run([sys.executable, "-m", "landkit.cli", "batch", str(root), "-o",
                        str(tmp_path / "out"), "--db", "postgresql://nobody:pw@127.0.0.1:1/x"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 1 and "无法连接数据库" in r.stderr and "pw@" not in r.stderr
    assert not (tmp_path / "out" / src.name).exists()
