"""``landkit overlap``: an ad-hoc check of a project site a user brings against a county."""
from __future__ import annotations

from pathlib import Path


from ..analyses.farmland import farmland_overlap
from ..errors import InputError
from ..county import read_county
from ..io.read import read_layer

NAME_FIELDS = ("项目名称", "名称", "地块名称", "地块编号", "宗地代码", "NAME", "name", "XMMC", "DKBH", "id", "ID")

#: the county layers the check reads: 永久基本农田 must be there, the others are used when present
SITE_ROLES = ("yjjbnt", "dltb", "stbhhx", "czkfbj")
#: (summary key, item, layer role, why it is missing) of each check that needs an optional layer
OPTIONAL_CHECKS = (("cultivated_mu", "占用耕地", "dltb", "该县文件夹没有地类图斑（DLTB）图层"),
                   ("stbhhx_mu", "占用生态保护红线", "stbhhx", "该县文件夹没有生态保护红线图层"),
                   ("outside_czkfbj_mu", "城镇开发边界外", "czkfbj", "该县文件夹没有城镇开发边界图层"))


def not_computed(county) -> list[dict]:
    """The checks the county's layers did not allow: [{"item", "reason"}] (Chinese)."""
    return [{"item": item, "reason": why} for _, item, role, why in OPTIONAL_CHECKS if getattr(county, role) is None]


def run_site_check(site_file, county_dir, out_dir, *, layer=None, id_field=None) -> dict:
    """Check ``site_file``'s polygons against the county; write xlsx + gpkg into ``out_dir``.

    The county folder needs only a 永久基本农田 layer; 耕地 (from the DLTB), 生态保护红线 and
    城镇开发边界 are checked when the folder has them. The returned summary lists the checks
    that were not possible under ``not_computed`` ([{"item", "reason"}], also in the workbook).
    """
    from ..render.export import write_gpkg
    from ..render.ledger import Col, add_kv_sheet, add_sheet, new_workbook
    from ..render.export import staged_outputs
    site = read_layer(site_file, layer=layer)
    if id_field is not None and id_field not in site.columns:
        raise InputError(f"地块文件中没有字段 {id_field}", file=site_file, field=id_field)
    idf = id_field or next((c for c in NAME_FIELDS if c in site.columns), None)
    county = read_county(county_dir, require=("yjjbnt",), roles=SITE_ROLES)
    res = farmland_overlap(site, county, id_field=idf, keep_pieces=True)
    f = res.features
    s = res.summary
    if county.dltb is not None and "gd_m2" not in f.columns:      # a DLTB without 耕地: none is taken
        f["gd_m2"] = f["gd_net_m2"] = f["gd_mu"] = f["gd_net_mu"] = 0.0
        s["cultivated_mu"] = s["cultivated_net_mu"] = 0.0
    s["not_computed"] = not_computed(county)
    with staged_outputs(Path(out_dir)) as tmp:
        cols = [Col("编号", "id"), Col("面积(亩)", "area_mu", "area", True),
                Col("压占永久基本农田(亩)", "yjjbnt_mu", "area", True),
                Col("扣除田坎(亩)", "yjjbnt_net_mu", "area", True), Col("压占比例", "yjjbnt_share", "pct"),
                Col("永久基本农田图斑编号", "yjjbnt_ids", width=50)]
        if "gd_mu" in f.columns:
            cols.append(Col("占用耕地(亩)", "gd_mu", "area", True))
        if "stbhhx_mu" in f.columns:
            cols.append(Col("占用生态保护红线(亩)", "stbhhx_mu", "area", True))
        if "outside_czkfbj_mu" in f.columns:
            cols.append(Col("城镇开发边界外(亩)", "outside_czkfbj_mu", "area", True))
        wb = new_workbook()
        add_sheet(wb, "压占检查", f.drop(columns="geometry"), cols,
                  heading=f"{county.name or ''}永久基本农田压占检查：{Path(site_file).name}",
                  note=f"CGCS2000 椭球面积；重叠小于 {s['tolerance_m2']:g} m² 的碎片不计"
                  + "".join(f"；{n['item']}未计算（{n['reason']}）" for n in s["not_computed"]))
        add_kv_sheet(wb, "汇总", [
            ("检查地块数", s["features_checked"], ""), ("压占永久基本农田的地块数", s["features_overlapping"], ""),
            ("地块总面积(亩)", round(s["area_mu"], 2), ""), ("压占永久基本农田(亩)", round(s["overlap_mu"], 2), ""),
            ("压占永久基本农田扣除田坎(亩)", round(s["overlap_net_mu"], 2), "按永久基本农田图斑的扣除地类系数"),
        ] + [(f"{item}(亩)", round(s[key], 2), "") for key, item, _, _ in OPTIONAL_CHECKS if key in s]
          + [(f"{n['item']}(亩)", "未计算", n["reason"]) for n in s["not_computed"]])
        wb.save(tmp / "压占检查.xlsx")
        layers = {"地块": f.rename(columns={"id": "编号"})}
        if res.pieces is not None and len(res.pieces):
            layers["压占部分"] = res.pieces
        write_gpkg(layers, tmp / "压占检查.gpkg")
    return s
