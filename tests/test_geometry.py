"""Geometry clean-up at the edge (landkit.io.geometry): polygonal parts, repair of invalid
polygons, the clean-up report, and valid_polygons' no-copy fast path."""
import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import GeometryCollection, LineString, MultiPolygon, Point, Polygon, box

from landkit.io.geometry import clean_polygons, polygonal_part, repair, valid_polygons

from conftest import X0, Y0, write_shp

BOWTIE = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])          # crosses itself at (5, 5)
LOBES = [Polygon([(0, 0), (5, 5), (0, 10)]), Polygon([(5, 5), (10, 10), (10, 0)])]


def arr(*g):
    return np.array(list(g), dtype=object)


# ------------------------------------------------------------------ polygonal_part

def test_polygons_pass_through_as_the_same_objects():
    p, m = box(0, 0, 1, 1), MultiPolygon([box(0, 0, 1, 1), box(2, 0, 3, 1)])
    out = polygonal_part(arr(p, m, None))
    assert out[0] is p and out[1] is m and out[2] is None


def test_collections_keep_their_polygons():
    a, b, c = box(0, 0, 1, 1), box(2, 0, 3, 1), box(4, 0, 5, 1)
    out = polygonal_part(arr(
        GeometryCollection([a, LineString([(0, 0), (9, 9)]), Point(7, 7)]),
        GeometryCollection([a, b]),
        GeometryCollection([GeometryCollection([a]), MultiPolygon([b, c])]),    # nested
        GeometryCollection([LineString([(0, 0), (1, 1)]), Point(0, 0)]),
        LineString([(0, 0), (1, 1)]), Point(1, 1)))
    assert out[0].equals(a) and out[0].geom_type == "Polygon"
    assert out[1].geom_type == "MultiPolygon" and out[1].equals(MultiPolygon([a, b]))
    assert out[2].geom_type == "MultiPolygon" and len(out[2].geoms) == 3 and out[2].area == pytest.approx(3.0)
    assert out[3] is None and out[4] is None and out[5] is None


# ------------------------------------------------------------------ repair

def test_bowtie_becomes_its_two_lobes():
    [r] = repair(arr(BOWTIE))
    assert r.is_valid and r.geom_type == "MultiPolygon" and len(r.geoms) == 2
    assert r.area == pytest.approx(50.0)                # what a person sees; the signed area is 0
    assert shapely.area(BOWTIE) == pytest.approx(0.0)
    assert r.symmetric_difference(MultiPolygon(LOBES)).area == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("bad,area", [
    # a zero-width spike out of a 10 × 10 square
    (Polygon([(0, 0), (10, 0), (10, 10), (15, 10), (10, 10), (0, 10)]), 100.0),
    # overlapping parts of a MultiPolygon: their union
    (MultiPolygon([box(0, 0, 10, 10), box(5, 0, 15, 10)]), 150.0),
    # a hole crossing the shell: shell minus hole
    (Polygon(box(0, 0, 10, 10).exterior.coords, [box(8, 2, 12, 4).exterior.coords]), 100.0 - 4.0),
    # a figure-eight ring touching itself in a point: kept as two squares
    (Polygon([(0, 0), (5, 5), (10, 0), (10, 10), (5, 5), (0, 10)]), 50.0),
])
def test_repair_keeps_the_polygonal_part(bad, area):
    assert not bad.is_valid
    [r] = repair(arr(bad))
    assert r.is_valid and r.geom_type in ("Polygon", "MultiPolygon")
    assert r.area == pytest.approx(area)


def test_collapsed_polygon_repairs_to_nothing():
    flat = Polygon([(0, 0), (10, 0), (20, 0), (0, 0)])
    [r] = repair(arr(flat))
    assert r is None or r.is_empty                  # clean_polygons then drops it as collapsed


# ------------------------------------------------------------------ clean_polygons

def test_clean_polygons_report_and_kept_rows():
    z = Polygon([(0, 0, 5), (4, 0, 5), (4, 4, 5), (0, 4, 5)])
    geoms = arr(box(0, 0, 1, 1),                  # a: fine
                None,                             # b: null
                Polygon(),                        # c: empty
                Point(1, 1),                      # d: not a polygon
                BOWTIE,                           # e: repaired
                Polygon([(0, 0), (10, 0), (20, 0), (0, 0)]),   # f: collapses
                GeometryCollection([box(5, 5, 6, 6), LineString([(0, 0), (1, 1)])]),  # g: polygon kept
                z)                                # h: 3-D, made 2-D
    ids = np.array(list("abcdefgh"), dtype=object)
    pos, out, rep = clean_polygons(geoms, ids)
    assert ids[pos].tolist() == ["a", "e", "g", "h"] and len(out) == 4
    assert rep.dropped_null == ["b"] and rep.dropped_empty == ["c"] and rep.dropped_nonpolygon == ["d"]
    assert rep.repaired == ["e"] and rep.collapsed == ["f"] and rep.z_dropped
    assert shapely.is_valid(out).all() and not shapely.has_z(out).any()
    assert out[1].area == pytest.approx(50.0) and out[2].equals(box(5, 5, 6, 6)) and out[3].area == pytest.approx(16.0)
    assert geoms[4] is BOWTIE and geoms[7] is z   # the input array is not modified


def test_collection_without_polygons_is_dropped():
    geoms = arr(box(0, 0, 1, 1), GeometryCollection([LineString([(0, 0), (1, 1)])]))
    pos, out, rep = clean_polygons(geoms, np.array([10, 11]))
    assert pos.tolist() == [0]
    assert 11 in rep.dropped_nonpolygon + rep.collapsed and 11 not in rep.repaired


def test_clean_polygons_all_valid_report_is_empty():
    geoms = arr(*[box(i, 0, i + 1, 1) for i in range(5)])
    pos, out, rep = clean_polygons(geoms, np.arange(5))
    assert pos.tolist() == list(range(5)) and all(o is g for o, g in zip(out, geoms))
    assert not (rep.dropped_null or rep.dropped_empty or rep.dropped_nonpolygon or rep.repaired or rep.collapsed)
    assert not rep.z_dropped


@pytest.mark.parametrize("geoms,words", [
    (arr(Point(0, 0), Point(1, 1), None), {"点"}),
    (arr(LineString([(0, 0), (1, 1)]), Point(0, 0)), {"点", "线"}),
])
def test_a_layer_without_polygons_is_refused(geoms, words):
    with pytest.raises(ValueError) as e:
        clean_polygons(geoms, np.arange(len(geoms)))
    assert set(str(e.value).split("、")) == words


def test_bowtie_in_a_gbk_shapefile_is_repaired_on_read(tmp_path):
    """The same clean-up on a real file: a self-intersecting 地类图斑 is kept, its area the two lobes."""
    from landkit.io.read import load_layer
    from landkit.standards.area import ellipsoidal_area
    bow = shapely.affinity.translate(shapely.affinity.scale(BOWTIE, 10, 10, origin=(0, 0)), X0, Y0)  # 100 m
    g = gpd.GeoDataFrame({"BSM": ["自相交", "正常"], "DLBM": ["0101", "0701"],
                          "ZLDWDM": ["4207041001010000000"] * 2},
                         geometry=[bow, box(X0 + 200, Y0, X0 + 300, Y0 + 100)], crs="EPSG:4526")
    write_shp(g, tmp_path / "DLTB.shp")
    d, _, findings = load_layer(tmp_path / "DLTB.shp", None, "dltb")
    assert len(d) == 2 and shapely.is_valid(d.geometry.values).all()
    f = next(f for f in findings if f.code == "geometry_repaired")
    assert f.features == ["自相交"]
    lobes = [shapely.affinity.translate(shapely.affinity.scale(p, 10, 10, origin=(0, 0)), X0, Y0) for p in LOBES]
    expect = ellipsoidal_area(gpd.GeoSeries(lobes, crs="EPSG:4526")).sum()
    assert ellipsoidal_area(d.geometry.iloc[[0]])[0] == pytest.approx(expect, rel=1e-9)
    assert d.geometry.iloc[0].area == pytest.approx(5000.0)


def _drawn_area_m2(ring_xy, crs="EPSG:4526"):
    """Independent area of a ring as drawn (self-crossing rings included): pyproj.Geod's signed
    polygon area of the ring's densified lon/lat vertices, absolute value."""
    import pyproj
    line = shapely.segmentize(shapely.LineString(ring_xy), 1.0)
    tr = pyproj.Transformer.from_crs(crs, "EPSG:4490", always_xy=True)
    xy = np.asarray(line.coords)
    lon, lat = tr.transform(xy[:, 0], xy[:, 1])
    return abs(pyproj.Geod(a=6378137.0, rf=298.257222101).polygon_area_perimeter(lon, lat)[0])


def test_repair_that_changes_the_area_is_reported_per_feature(tmp_path):
    """repair_area_changed: a bow-tie whose lobes cancel (drawn 0 m²) and an unequal bow-tie are
    reported with their areas as drawn and after repair (m² and 亩); a spike, whose repair changes
    nothing measurable, is repaired without that warning."""
    from landkit.io.read import load_layer
    from landkit.standards.area import ellipsoidal_area
    even = [(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100), (X0, Y0)]
    uneven = [(X0 + 200, Y0), (X0 + 300, Y0 + 100), (X0 + 300, Y0), (X0 + 200, Y0 + 30), (X0 + 200, Y0)]
    spike = [(X0 + 400, Y0), (X0 + 500, Y0), (X0 + 500, Y0 + 100), (X0 + 500, Y0 + 160),
             (X0 + 500, Y0 + 100), (X0 + 400, Y0 + 100), (X0 + 400, Y0)]
    geoms = [Polygon(even), Polygon(uneven), Polygon(spike)]
    assert not any(shapely.is_valid(geoms))
    g = gpd.GeoDataFrame({"BSM": ["对称", "不对称", "毛刺"], "DLBM": ["0101"] * 3,
                          "ZLDWDM": ["4207041001010000000"] * 3}, geometry=geoms, crs="EPSG:4526")
    write_shp(g, tmp_path / "DLTB.shp")
    d, _, findings = load_layer(tmp_path / "DLTB.shp", None, "dltb")
    assert sorted(next(f for f in findings if f.code == "geometry_repaired").features) == ["不对称", "对称", "毛刺"]
    changed = {f.features[0]: f for f in findings if f.code == "repair_area_changed"}
    assert set(changed) == {"对称", "不对称"}
    after = dict(zip(d["BSM"], ellipsoidal_area(d.geometry)))
    for name, ring in (("对称", even), ("不对称", uneven)):
        f = changed[name]
        assert f.level == "warning" and f.layer == "dltb" and f.file.endswith("DLTB.shp")
        drawn = _drawn_area_m2(ring)
        assert f"绘制面积 {drawn:.2f} m²（{drawn * 3 / 2000:.2f} 亩）" in f.message
        assert f"修复后 {after[name]:.2f} m²（{after[name] * 3 / 2000:.2f} 亩）" in f.message
    assert _drawn_area_m2(even) < 1.0 and after["对称"] == pytest.approx(5000, rel=1e-3)
    assert after["毛刺"] == pytest.approx(_drawn_area_m2(spike), rel=1e-6)


# ------------------------------------------------------------------ valid_polygons

def test_valid_polygons_returns_the_same_array_when_nothing_to_do():
    g = arr(box(0, 0, 1, 1), None, MultiPolygon([box(2, 2, 3, 3), box(4, 4, 5, 5)]))
    assert valid_polygons(g) is g


def test_valid_polygons_repairs_a_copy():
    g = arr(box(0, 0, 1, 1), BOWTIE, None)
    out = valid_polygons(g)
    assert out is not g and g[1] is BOWTIE                  # the caller's array is untouched
    assert out[0] is g[0] and out[2] is None
    assert out[1].is_valid and out[1].area == pytest.approx(50.0)
