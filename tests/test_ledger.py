"""The ledger writer (landkit.render.ledger): what a bureau opens in Excel, read back with openpyxl."""
from __future__ import annotations

import datetime as dt

import numpy as np
import openpyxl
import pandas as pd
import pytest

from landkit.render.ledger import Col, add_kv_sheet, add_sheet, new_workbook


@pytest.fixture
def table():
    return pd.DataFrame({
        "编号": ["A-1", "=1+1", "http://example.org/x", None],
        "面积": [1.005, 2.0049, np.nan, 3.0],
        "宗数": [1, 2, 3, 4],
        "比例": [0.123456, 0.5, None, 1.0],
        "日期": [pd.Timestamp("2023-05-06"), pd.NaT, dt.date(2021, 1, 2), dt.datetime(2020, 3, 4, 5, 6)],
        "图斑": [["Y1", "Y2"], [], ["Y3"], None],
    })


COLS = [Col("编号", "编号"), Col("面积(亩)", "面积", "area", True), Col("宗数", "宗数", "int", True),
        Col("比例", "比例", "pct"), Col("日期", "日期", "date"), Col("图斑编号", "图斑", width=30)]


def _save(wb, tmp_path):
    path = tmp_path / "台账.xlsx"
    wb.save(path)
    return openpyxl.load_workbook(path)


def test_values_formats_and_totals(table, tmp_path):
    wb = new_workbook()
    add_sheet(wb, "清单", table, COLS, heading="某县清单", note="说明文字")
    ws = _save(wb, tmp_path)["清单"]
    assert ws["A1"].value == "某县清单" and ws["A1"].font.b and ws["A2"].value == "说明文字"
    assert [c.value for c in ws[3]] == [c.header for c in COLS]
    assert ws["A3"].fill.fgColor.rgb.endswith("DCE6F1")        # what `landkit db` looks for
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=4, max_row=7)]
    # text stays text: no formula, no hyperlink
    assert [r[0] for r in rows] == ["A-1", "=1+1", "http://example.org/x", None]
    assert ws["A5"].data_type == "s"
    # areas rounded half up to 2 decimals, NaN left blank (not 0)
    assert [r[1] for r in rows] == [1.01, 2.0, None, 3.0]
    assert ws["B4"].number_format == "0.00" and ws["C4"].number_format == "0"
    assert ws["D4"].number_format == "0.00%" and rows[0][3] == 0.1235 and rows[2][3] is None
    # dates as dates, times dropped
    assert rows[0][4] == dt.datetime(2023, 5, 6) and rows[1][4] is None and rows[3][4] == dt.datetime(2020, 3, 4)
    assert ws["E4"].number_format == "yyyy-mm-dd"
    assert [r[5] for r in rows] == ["Y1、Y2", None, "Y3", None]
    # totals row: sums of the total columns only
    assert [c.value for c in ws[8]] == ["合计", 6.01, 10, None, None, None]     # 1.005 + 2.0049 + 3
    assert ws["B8"].font.b and ws["B8"].fill.fgColor.rgb.endswith("F2F2F2")
    # frozen header, filter over the table, print setup
    assert ws.freeze_panes == "A4"
    assert ws.auto_filter.ref == "A3:F7"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert ws.print_title_rows == "$3:$3"
    assert ws.column_dimensions["F"].width == pytest.approx(30, abs=1)


def test_empty_table_has_headers_no_totals(tmp_path):
    wb = new_workbook()
    add_sheet(wb, "空表", pd.DataFrame(columns=["编号", "面积"]), COLS[:2])
    ws = _save(wb, tmp_path)["空表"]
    assert [c.value for c in ws[1]] == ["编号", "面积(亩)"]
    assert ws.max_row == 1 and not ws.auto_filter.ref


def test_fills_total_values_and_sheet_order(table, tmp_path):
    wb = new_workbook()
    add_sheet(wb, "清单", table, COLS, fills={(1, "比例"): ("C00000", True)}, total_values={"比例": 0.25})
    add_kv_sheet(wb, "汇总", [("总面积(亩)", 6.123456, "说明"), ("是否达标", True, ""), ("日期", dt.date(2024, 1, 1), "")])
    wb.move_sheet("汇总", offset=-1)
    book = _save(wb, tmp_path)
    assert book.sheetnames == ["汇总", "清单"]
    ws = book["清单"]
    assert ws["D3"].fill.fgColor.rgb.endswith("C00000") and ws["D3"].font.b
    assert not ws["D2"].fill.fgColor.rgb.endswith("C00000")
    assert ws["D6"].value == 0.25 and ws["D6"].number_format == "0.00%"
    kv = book["汇总"]
    assert [c.value for c in kv[2]] == ["总面积(亩)", 6.1235, "说明"]
    assert kv["B3"].value is True and kv["B4"].value == dt.datetime(2024, 1, 1)
