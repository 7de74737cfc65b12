"""Tests for the synthetic-county generator (landkit.synth).

Small counties (n_dltb=2000) are generated once per module into temporary folders.
"""
from __future__ import annotations

import datetime as dt
import re
import struct
import tomllib

import numpy as np
import pyogrio
import pyproj
import pytest
import shapely

from landkit.standards.area import ellipsoidal_area
from landkit.synth import make_county
from landkit.synth._base import load_ezhou_lonlat

SMALL = dict(n_dltb=2000, n_patches=80, n_approvals=14, n_supply=45, n_parcels=40, seed=420704)
SHAPEFILES = ["DLTB", "XZQ", "YJJBNTBHTB", "卫片图斑", "批准用地", "供地", "STBHHX", "CZKFBJ", "开发区"]
CULTIVATED = {"0101", "0102", "0103"}


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    return make_county(tmp_path_factory.mktemp("a") / "420704_鄂城区", **SMALL, image_pair=True)


@pytest.fixture(scope="module")
def county_again(tmp_path_factory):
    return make_county(tmp_path_factory.mktemp("b") / "420704_鄂城区", **SMALL, image_pair=True)


@pytest.fixture(scope="module")
def manifest(county):
    return tomllib.loads((county / "synth_manifest.toml").read_text(encoding="utf-8"))


def _read(county, name):
    """A GBK shapefile; blank text (read as null by GDAL) becomes ""."""
    df = pyogrio.read_dataframe(county / f"{name}.shp", encoding="GBK")
    for c in df.columns:
        if c != "geometry" and df[c].dtype.kind not in "fiub":
            df[c] = df[c].fillna("")
    return df


@pytest.fixture(scope="module")
def dltb(county):
    return _read(county, "DLTB")


def _dbf_fields(raw: bytes):
    """(name bytes, type, width, offset) for each field of a dBASE table, and the geometry."""
    n, hdr_len, rec_len = struct.unpack("<IHH", raw[4:12])
    fields, pos, off = [], 32, 1
    while raw[pos] != 0x0D:
        name = raw[pos:pos + 11].split(b"\x00")[0]
        typ = chr(raw[pos + 11])
        width = raw[pos + 16]
        fields.append((name, typ, width, off))
        off += width
        pos += 32
    return n, hdr_len, rec_len, fields


# ----------------------------------------------------------------- files and encodings
def test_all_layers_present(county):
    for name in SHAPEFILES:
        for ext in (".shp", ".shx", ".dbf", ".prj"):
            assert (county / f"{name}{ext}").exists(), f"{name}{ext}"
        assert not (county / f"{name}.cpg").exists(), f"{name}.cpg must not exist"
    assert pyogrio.list_layers(county / "宗地.gpkg")[0][0] == "宗地"
    assert (county / "影像.tif").exists()
    cfg = tomllib.loads((county / "landkit.toml").read_text(encoding="utf-8"))
    assert cfg == {"county": {"name": "鄂城区", "adcode": "420704", "year": 2024, "as_of": "2024-12-31"}}


def test_dbf_is_gbk_without_cpg_and_ldid_zero(county):
    for name in SHAPEFILES:
        raw = (county / f"{name}.dbf").read_bytes()
        assert raw[29] == 0, name
        n, hdr_len, rec_len, fields = _dbf_fields(raw)
        assert len(raw) == hdr_len + n * rec_len + 1
        # every field name fits the 10-byte limit and decodes as GBK
        for fname, *_ in fields:
            assert len(fname) <= 10
            fname.decode("gbk")
    raw = (county / "DLTB.dbf").read_bytes()
    n, hdr_len, rec_len, fields = _dbf_fields(raw)
    (_, _, width, off), = [f for f in fields if f[0] == b"DLMC"]
    body = np.frombuffer(raw[hdr_len:hdr_len + n * rec_len], np.uint8).reshape(n, rec_len)
    values = {bytes(r[off:off + width]).rstrip(b" ") for r in body}
    decoded = {v.decode("gbk") for v in values}
    assert "水田" in decoded and "乔木林地" in decoded
    with pytest.raises(UnicodeDecodeError):
        "".join(v.decode("utf-8") for v in values)
    # the tell-tale of a bureau file: GDAL alone sees no encoding
    assert pyogrio.read_info(county / "DLTB.shp")["encoding"] == "ISO-8859-1"


def test_shapefile_cut_field_names(county):
    names = [f[0].decode("gbk") for f in _dbf_fields((county / "供地.dbf").read_bytes())[3]]
    for cut in ("土地使用权", "约定动工日", "实际动工日", "约定竣工日", "电子监管号", "应开发面积"):
        assert cut in names
    names = [f[0].decode("gbk") for f in _dbf_fields((county / "卫片图斑.dbf").read_bytes())[3]]
    assert names[:7] == ["监测编号", "前时相", "后时相", "下发日期", "季度", "监测面积", "判定类型"]


def test_crs_is_cgcs2000_zone38(county):
    for name in SHAPEFILES:
        info = pyogrio.read_info(county / f"{name}.shp")
        assert pyproj.CRS(info["crs"]).to_epsg() == 4526, name
    assert pyproj.CRS(pyogrio.read_info(county / "宗地.gpkg")["crs"]).to_epsg() == 4526
    b = pyogrio.read_bounds(county / "DLTB.shp")[1]
    assert (b[0] > 38_500_000).all() and (b[2] < 38_700_000).all()
    assert (b[1] > 3_330_000).all() and (b[3] < 3_380_000).all()


# ----------------------------------------------------------------- determinism
def test_deterministic(county, county_again):
    for name in SHAPEFILES:
        a, b = _read(county, name), _read(county_again, name)
        assert a.drop(columns="geometry").equals(b.drop(columns="geometry")), name
        assert shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=0).all(), name
    for f in sorted(county.iterdir()):
        assert f.read_bytes() == (county_again / f.name).read_bytes(), f.name


def test_image_pair_is_sparse_and_shows_the_change(county):
    """前时相/后时相: 2 m over the whole county, only the tiles around the 违法 patches stored; the
    after image differs from the before one inside those patches far more than around them."""
    import rasterio
    from rasterio.features import rasterize
    wp = _read(county, "卫片图斑")
    b4 = min(dt.date.fromisoformat(x) for x in wp["前时相"])
    af = max(dt.date.fromisoformat(x) for x in wp["后时相"])
    before, after = county / f"前时相_{b4:%Y%m%d}.tif", county / f"后时相_{af:%Y%m%d}.tif"
    assert sorted(p.name for p in county.glob("*时相_*.tif")) == sorted([before.name, after.name])
    ill = wp[wp["判定类型"].isin(["违法", "非农违法"])]
    with rasterio.open(before) as a, rasterio.open(after) as b:
        assert a.res == (2.0, 2.0) and a.crs.to_epsg() == 4526 and a.block_shapes == [(256, 256)] * 3
        assert a.profile["compress"] == "jpeg" and (a.width, a.height, a.transform) == (b.width, b.height, b.transform)
        assert before.stat().st_size < a.width * a.height * 3 / 200          # sparse: mostly not stored
        for g in ill.geometry.values:
            pad = 40.0
            x0, y0, x1, y1 = g.bounds
            win = rasterio.windows.from_bounds(x0 - pad, y0 - pad, x1 + pad, y1 + pad, a.transform).round_offsets() \
                .round_lengths()
            wt = a.window_transform(win)
            shape = (int(win.height), int(win.width))
            inside = rasterize([(g.buffer(-3), 1)], out_shape=shape, transform=wt).astype(bool)
            around = ~rasterize([(g.buffer(6), 1)], out_shape=shape, transform=wt).astype(bool)
            da, db = a.read(window=win).astype(int), b.read(window=win).astype(int)
            assert (a.dataset_mask(window=win) == 255).all()
            change = np.abs(db - da).sum(axis=0)
            assert change[inside].mean() > max(2.5 * change[around].mean(), 40)
        far = rasterio.windows.Window(0, 0, 256, 256)                     # the county's corner: not stored
        assert (a.dataset_mask(window=far) == 0).all()


def test_different_seed_differs(tmp_path, dltb):
    other = make_county(tmp_path / "x", **{**SMALL, "seed": 1}, image=False)
    a = pyogrio.read_dataframe(other / "DLTB.shp", encoding="GBK", columns=["DLBM"])
    assert len(a) > 1000
    assert not np.allclose(shapely.area(a.geometry.values[:50]), shapely.area(dltb.geometry.values[:50]))


# ----------------------------------------------------------------- boundary
def test_boundary_gcj02_to_cgcs2000_shift():
    raw, wgs = load_ezhou_lonlat()
    tr = pyproj.Transformer.from_crs(4490, 4526, always_xy=True)
    c0 = shapely.centroid(raw)
    c1 = shapely.centroid(wgs)
    x0, y0 = tr.transform(c0.x, c0.y)
    x1, y1 = tr.transform(c1.x, c1.y)
    # GCJ-02 lies ~480 m east and ~300 m south of the true position at 鄂州
    assert 540 < np.hypot(x0 - x1, y0 - y1) < 600
    assert 450 < x0 - x1 < 520
    assert -330 < y0 - y1 < -270


def test_dltb_partitions_the_boundary(county, dltb, manifest):
    xzq = _read(county, "XZQ")
    boundary = shapely.union_all(xzq.geometry.values, grid_size=0.001)
    _, wgs = load_ezhou_lonlat()
    tr = pyproj.Transformer.from_crs(4490, 4526, always_xy=True)
    real = shapely.transform(wgs, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
    assert abs(boundary.area / real.area - 1) < 1e-4
    bow = manifest["defects"]["DLTB"]["bow_tie_rows"]
    keep = np.ones(len(dltb), bool)
    keep[bow] = False
    g = dltb.geometry.values
    assert shapely.is_valid(g[keep]).all()
    total = shapely.area(g[keep]).sum()
    assert abs(total / boundary.area - 1) < 1e-4
    # no real overlaps: only sub-m² slivers from the 1 mm coordinate grid
    gv = g[keep]
    a, b = shapely.STRtree(gv).query(gv, predicate="overlaps")
    m = a < b
    inter = shapely.area(shapely.intersection(gv[a[m]], gv[b[m]]))
    assert (inter < 1.0).all()
    # enough patches, with a few holes
    assert len(dltb) >= SMALL["n_dltb"]
    assert (shapely.get_num_interior_rings(g[keep]) > 0).sum() >= 3


def test_dltb_nests_in_townships(county, dltb):
    xzq = _read(county, "XZQ")
    assert len(xzq) == 14
    assert xzq["XZQDM"].str.fullmatch(r"420704\d{3}").all()
    for code, name in zip(xzq["XZQDM"], xzq["XZQMC"]):
        seg = int(code[6:])
        if name.endswith("街道"):
            assert 1 <= seg <= 99
        elif name.endswith("镇"):
            assert 100 <= seg <= 199
        else:
            assert name.endswith("乡") and 200 <= seg <= 399
    assert (shapely.get_type_id(xzq.geometry.values) == 3).all()       # one piece each
    assert dltb["ZLDWDM"].str.fullmatch(r"420704\d{6}0000000").all()
    assert set(dltb["ZLDWDM"].str[:9]) <= set(xzq["XZQDM"])
    pts = shapely.point_on_surface(shapely.make_valid(dltb.geometry.values))
    tree = shapely.STRtree(xzq.geometry.values)
    p, t = tree.query(pts, predicate="within")
    got = np.full(len(dltb), "", dtype=object)
    got[p] = xzq["XZQDM"].to_numpy()[t]
    assert (got == dltb["ZLDWDM"].str[:9].to_numpy()).mean() > 0.999


# ----------------------------------------------------------------- DLTB attributes
def test_dltb_fields_and_areas(dltb, manifest):
    need = ["BSM", "YSDM", "TBYBH", "TBBH", "DLBM", "DLMC", "QSXZ", "QSDWDM", "QSDWMC", "ZLDWDM",
            "ZLDWMC", "TBMJ", "KCDLBM", "KCXS", "KCMJ", "TBDLMJ", "GDLX", "GDPDJB", "XZDWKD", "TBXHDM",
            "TBXHMC", "ZZSXDM", "ZZSXMC", "GDDB", "FRDBS", "CZCSXM", "SJNF", "MSSM", "BZ"]
    assert [c for c in dltb.columns if c != "geometry"] == need
    d = manifest["defects"]["DLTB"]
    assert (dltb["YSDM"] == "2001010100").all()
    assert dltb["BSM"].str.len().eq(18).all()
    # exactly one duplicated BSM, at the recorded rows
    dup = dltb["BSM"][dltb["BSM"].duplicated(keep=False)]
    assert sorted(dup.index) == sorted(d["duplicate_bsm_rows"])
    # TBMJ is the ellipsoidal area, except the recorded TBMJ defects (bow-ties keep the
    # area of the polygon before it was broken)
    area = ellipsoidal_area(dltb.geometry.values, "EPSG:4526")
    diff = np.abs(dltb["TBMJ"].to_numpy() - area)
    bad = set(np.flatnonzero((diff > 1e-3 * area) & (diff > 1.0)))
    assert np.all(diff[list(set(range(len(dltb))) - bad)] < 0.006)
    assert set(d["tbmj_off_rows"]) <= bad <= set(d["tbmj_off_rows"]) | set(d["bow_tie_rows"])
    # KCMJ = round(TBMJ × KCXS, 2) and TBDLMJ = TBMJ − KCMJ everywhere
    np.testing.assert_allclose(dltb["KCMJ"], np.round(dltb["TBMJ"] * dltb["KCXS"], 2), atol=0.0051)
    np.testing.assert_allclose(dltb["TBDLMJ"], dltb["TBMJ"] - dltb["KCMJ"], atol=0.0051)
    # KCXS only on 耕地 (one deliberate exception), in [0.02, 0.15], KCDLBM 1203
    gd = dltb["DLBM"].isin(CULTIVATED)
    assert dltb.loc[gd, "KCXS"].between(0.02, 0.15).all()
    assert (dltb.loc[gd, "KCDLBM"] == "1203").all()
    stray = np.flatnonzero(~gd & (dltb["KCXS"] > 0))
    assert list(stray) == d["kcxs_non_cultivated_rows"]
    # three bow-ties, invalid, at the recorded rows
    assert list(np.flatnonzero(~shapely.is_valid(dltb.geometry.values))) == d["bow_tie_rows"]


def test_dltb_class_mix(dltb):
    a = dltb.groupby("DLBM")["TBMJ"].sum()
    share = a / a.sum()
    gd = share.reindex(["0101", "0102", "0103"]).fillna(0)
    assert gd["0101"] > gd["0103"] > 0 and gd["0101"] > 0.5 * gd.sum()
    for code in ("0301", "1101", "1102", "1104", "1107", "1006", "0701", "0702", "0601", "1003", "1004"):
        assert code in share.index, code
    water = share.reindex(["1101", "1102", "1104", "1107"]).fillna(0).sum()
    assert 0.08 < water < 0.35
    # names follow the codes; QSXZ codes; 国有 water
    assert (dltb.loc[dltb["DLBM"] == "0101", "DLMC"] == "水田").all()
    assert set(dltb["QSXZ"]) <= {"10", "30", "31", "32"}
    assert (dltb.loc[dltb["DLBM"].isin(["1101", "1102"]), "QSXZ"] == "10").all()
    cz = dltb.loc[dltb["CZCSXM"] != "", "CZCSXM"]
    assert set(cz) <= {"201", "202", "203", "204", "205", "201A", "202A", "203A"}
    assert dltb.loc[dltb["DLBM"] == "0702", "CZCSXM"].isin(["201", "202", "203"]).all()


# ----------------------------------------------------------------- other layers
def test_yjjbnt(county, dltb, manifest):
    yj = _read(county, "YJJBNTBHTB")
    assert set(yj["DLBM"]) <= CULTIVATED
    assert yj["YJJBNTTBBH"].str.fullmatch(r"420704\d{14}").all()
    np.testing.assert_allclose(yj["YJJBNTMJ"], yj["YJJBNTTBMJ"] - yj["KCMJ"], atol=0.0051)
    n_gd = dltb["DLBM"].isin(CULTIVATED).sum()
    assert 0.6 * n_gd < len(yj) <= n_gd
    g = yj.geometry.values
    assert shapely.is_valid(g).all()
    a, b = shapely.STRtree(g).query(g, predicate="overlaps")
    m = a < b
    inter = shapely.area(shapely.intersection(g[a[m]], g[b[m]]))
    big = {tuple(sorted(p)) for p, s in zip(zip(a[m], b[m]), inter) if s > 1.0}
    want = {tuple(sorted(map(int, p.split(",")))) for p in manifest["defects"]["YJJBNTBHTB"]["overlap_rows"]}
    assert big == want and len(want) == 2
    # offset from the DLTB by a fraction of a metre to ~1.5 m, not identical
    dg = dltb.geometry.values[dltb["DLBM"].isin(CULTIVATED).to_numpy() & shapely.is_valid(dltb.geometry.values)]
    tree = shapely.STRtree(dg)
    c = shapely.centroid(g[:200])
    _, j = tree.query_nearest(c, return_distance=False)
    d = np.hypot(*(shapely.get_coordinates(c) - shapely.get_coordinates(shapely.centroid(dg[j]))).T)
    assert np.median(d) > 0.1 and np.median(d) < 2.0


def test_patches(county, manifest):
    wp = _read(county, "卫片图斑")
    assert len(wp) == SMALL["n_patches"]
    assert wp["监测编号"].str.fullmatch(r"42070420240\d{3}").all() and wp["监测编号"].is_unique
    kinds = set(wp["判定类型"])
    assert kinds == {"合法", "违法", "非农违法", "设施农用地", "农村道路", "其他", "伪变化"}
    share_legal = (wp["判定类型"] == "合法").mean()
    share_illegal = wp["判定类型"].isin(["违法", "非农违法"]).mean()
    assert 0.3 < share_legal < 0.5 and 0.10 <= share_illegal <= 0.22
    ill = wp["判定类型"].isin(["违法", "非农违法"])
    assert wp.loc[ill, "违法类型"].isin(["未批先建", "少批多占", "批甲占乙", "非法占地", "其他"]).all()
    assert wp.loc[ill, "整改状态"].isin(["已整改", "整改中", "未整改"]).all()
    assert wp.loc[wp["判定类型"] == "合法", "合法子类"].isin(
        ["用地审批(批文)", "土地供应", "登记发证", "临时用地"]).all()
    assert wp["季度"].between(1, 4).all()
    area = wp["监测面积"].to_numpy()
    assert (area > 900).all() and (area < 5.2e4).all()
    assert 0.05 <= manifest["satellite"]["illegal_cultivated_ratio_gross"] <= 0.15
    g = wp.geometry.values
    a, b = shapely.STRtree(g).query(g, predicate="intersects")
    assert (a == b).all()       # patches do not touch each other


def _parse_date(s: str):
    s = s.strip()
    if not s:
        return None
    for pat in (r"(\d{4})-(\d{2})-(\d{2})", r"(\d{4})/(\d{1,2})/(\d{1,2})", r"(\d{4})(\d{2})(\d{2})",
                r"(\d{4})年(\d{1,2})月(\d{1,2})日"):
        m = re.fullmatch(pat, s)
        if m:
            return dt.date(*map(int, m.groups()))
    raise ValueError(s)


def test_approvals_and_supply(county, manifest):
    ap = _read(county, "批准用地")
    assert len(ap) == SMALL["n_approvals"]
    assert ap["批准文号"].str.fullmatch(r"鄂政土批〔20\d\d〕\d+号").all()
    assert ap["批次名称"].str.fullmatch(r"鄂州市20\d\d年度第\d+批次(城镇|乡镇)建设用地").all()
    assert (ap["撤回日期"] != "").sum() == 2
    assert ap["批准面积"].between(1.5e4, 4.1e5).all()
    sup = _read(county, "供地")
    assert abs(len(sup) - SMALL["n_supply"]) <= 0.15 * SMALL["n_supply"]
    cols = ["供地日期", "约定动工日", "实际动工日", "约定竣工日", "停工日期", "复工日期", "处置日期"]
    dates = {c: [_parse_date(v) for v in sup[c]] for c in cols}
    allv = [v for c in cols for v in sup[c] if v]
    assert any(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) for v in allv)
    assert set(sup["供地方式"]) <= {"出让", "划拨"}
    assert set(sup["闲置原因"]) <= {"", "政府原因", "企业原因"}
    # some idle: not started more than a year after the agreed start, as of 2024-12-31
    as_of = dt.date(2024, 12, 31)
    idle = [a is not None and r is None and d is None and (as_of - a).days > 365
            for a, r, d in zip(dates["约定动工日"], dates["实际动工日"], dates["处置日期"])]
    assert sum(idle) >= 1
    st = manifest["supply_status"]
    assert st.get("idle_nostart", 0) >= 1 and st.get("normal", 0) > len(sup) / 3
    # supply lies mostly inside approvals
    apu = shapely.union_all(ap.geometry.values)
    inside = shapely.area(shapely.intersection(sup.geometry.values, apu)) / shapely.area(sup.geometry.values)
    assert (inside > 0.99).mean() > 0.6 and (inside < 0.01).sum() >= 1


def test_parcels_and_planning(county):
    zd = pyogrio.read_dataframe(county / "宗地.gpkg", layer="宗地")
    assert len(zd) == SMALL["n_parcels"]
    assert zd["宗地代码"].str.fullmatch(r"420704\d{6}GB\d{5}").all()
    assert zd["容积率"].between(0.3, 2.5).all()
    assert set(zd["是否规上"]) <= {"是", "否"}
    cz = _read(county, "CZKFBJ")
    assert set(cz["GHFQMC"]) <= {"城镇集中建设区", "城镇弹性发展区"} and "城镇集中建设区" in set(cz["GHFQMC"])
    st = _read(county, "STBHHX")
    assert len(st) >= 2 and shapely.is_valid(st.geometry.values).all()


def test_zones_over_built_up_land_and_parcel_values(county):
    z = _read(county, "开发区")
    assert list(z.columns[:4]) == ["开发区代码", "开发区名称", "开发区级别", "区块名称"]
    assert z["开发区代码"].nunique() == 3 and len(z) == 4          # the first zone is two 区块 with one code
    first = z[z["开发区代码"] == z["开发区代码"].iloc[0]]
    assert len(first) == 2 and first["开发区名称"].nunique() == 1 and set(first["区块名称"]) <= {"东区", "西区",
                                                                                          "南区", "北区"}
    assert shapely.is_valid(z.geometry.values).all()
    boundary = shapely.union_all(_read(county, "XZQ").geometry.values)
    assert shapely.covered_by(shapely.buffer(z.geometry.values, -0.01), boundary).all()
    sup = _read(county, "供地")
    zd = pyogrio.read_dataframe(county / "宗地.gpkg", layer="宗地")
    for g in z.geometry.values:                                       # every zone has parcels, most have supply
        assert shapely.intersects(g, zd.geometry.values).any()
    assert sum(shapely.intersects(g, sup.geometry.values).any() for g in z.geometry.values) >= 2
    # the value fields agree with the per-area fields they stand beside
    mu = ellipsoidal_area(zd.geometry.values, 4526) * 3 / 2000
    assert np.allclose(zd["建筑面积"], zd["容积率"] * zd["宗地面积"], rtol=0, atol=0.05)   # both rounded to 0.01
    assert np.allclose(zd["税收总额"], zd["亩均税收"] * mu, rtol=1e-6, atol=0.01)
    per_mu = zd["固定资产投资"] / mu
    assert per_mu.between(30, 1300).all() and 120 < per_mu.median() < 320


# ----------------------------------------------------------------- other counties and formats
def test_synthetic_square_county(tmp_path):
    out = make_county(tmp_path / "411422_叶县", n_dltb=1500, n_patches=40, n_approvals=8, n_supply=20,
                      n_parcels=20, seed=7, boundary=None, adcode="411422", name="叶县",
                      center_lonlat=(113.36, 33.62), area_km2=800, city="平顶山市", province="河南省",
                      image=False)
    cfg = tomllib.loads((out / "landkit.toml").read_text(encoding="utf-8"))
    assert cfg["county"]["name"] == "叶县" and cfg["county"]["adcode"] == "411422"
    d = pyogrio.read_dataframe(out / "DLTB.shp", encoding="GBK")
    assert pyproj.CRS(pyogrio.read_info(out / "DLTB.shp")["crs"]).to_epsg() == 4526   # 113.36E → CM 114E
    assert d["ZLDWDM"].str.startswith("411422").all()
    total = shapely.area(d.geometry.values[shapely.is_valid(d.geometry.values)]).sum()
    assert abs(total / 800e6 - 1) < 0.02
    ap = pyogrio.read_dataframe(out / "批准用地.shp", encoding="GBK")
    assert ap["批准文号"].str.startswith("豫政土批").all()


@pytest.mark.parametrize("fmt", ["utf8", "gpkg"])
def test_other_formats(tmp_path, fmt):
    out = make_county(tmp_path / fmt, n_dltb=800, n_patches=20, n_approvals=6, n_supply=10, n_parcels=10,
                      formats=fmt, image=False)
    if fmt == "utf8":
        assert (out / "DLTB.cpg").read_text() == "UTF-8"
        d = pyogrio.read_dataframe(out / "DLTB.shp")
    else:
        assert not list(out.glob("*.shp"))
        d = pyogrio.read_dataframe(out / "DLTB.gpkg")
    assert "水田" in set(d["DLMC"])


def test_previous_vintage_is_what_the_sample_ships(tmp_path):
    """make_previous_vintage gives the sample's DLTB_2023.gpkg byte for byte; its changes are what the
    manifest lists; every other 图斑 is the same polygon as in DLTB.shp."""
    from landkit.synth.vintage import make_previous_vintage

    from conftest import SAMPLE
    path, ch = make_previous_vintage(SAMPLE, out=tmp_path / "DLTB_2023.gpkg", year=2023, seed=420704)
    assert path.read_bytes() == (SAMPLE / "DLTB_2023.gpkg").read_bytes()
    man = tomllib.loads((SAMPLE / "synth_manifest.toml").read_text(encoding="utf-8"))["previous_vintage"]
    assert [dict(it) for it in man["changes"]] == ch["items"]
    old = pyogrio.read_dataframe(path, layer="DLTB")
    new = pyogrio.read_dataframe(SAMPLE / "DLTB.shp", encoding="GBK")
    splits = sum(1 for it in ch["items"] if it["split_from"])
    assert len(old) == len(new) - splits == ch["features"]
    changed = {it["bsm"] for it in ch["items"]} | {it["split_from"] for it in ch["items"] if it["split_from"]}
    o = old.set_index("BSM")
    same = new[~new["BSM"].isin(changed) & ~new["BSM"].duplicated(keep=False)]
    geo_old = o.loc[same["BSM"], "geometry"].values
    assert shapely.equals(shapely.make_valid(same.geometry.values), geo_old).all()
    assert (o.loc[same["BSM"], "DLBM"].values == same["DLBM"].values).all()
    for it in ch["items"]:
        prev = o.loc[it["split_from"] or it["bsm"]]
        assert prev["DLBM"] == it["from"]
        if it["split_from"]:                   # the previous polygon is the union: it covers the changed one
            assert shapely.covers(prev.geometry.buffer(1e-6), new.set_index("BSM").loc[it["bsm"], "geometry"])
        if it["kind"] == "to_nongrain":
            assert prev["ZZSXDM"] == "LS" and new.set_index("BSM").loc[it["bsm"], "ZZSXDM"] == "FLS"
