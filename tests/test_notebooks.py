"""Every analyst notebook in notebooks/ runs top to bottom against sample_data/."""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))


def test_there_are_six_notebooks_with_outputs_cleared():
    assert len(NOTEBOOKS) >= 6
    for p in NOTEBOOKS:
        nb = nbformat.read(p, as_version=4)
        assert all(not c.get("outputs") and not c.get("execution_count") for c in nb.cells if c.cell_type == "code"), p.name
        assert any(c.cell_type == "markdown" and any("\u4e00" <= ch <= "\u9fff" for ch in c.source) for c in nb.cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NB_DIR)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    # the last code cell produced something to look at
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert last.get("outputs"), f"{path.name}: last cell shows nothing"
