"""examples/omega-tour.ipynb, run by nbclient (as `jupyter nbconvert --execute` runs it) on the
installed kernelspec and a real daemon: each cell's outputs are the ones committed with it."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.kernel.conftest import KERNEL, JupyterEnv

TOUR = Path(__file__).resolve().parents[2] / "examples" / "omega-tour.ipynb"


def outputs_of(cell) -> list[dict]:
    return [{k: v for k, v in o.items() if k != "metadata" or v} for o in cell.get("outputs", [])]


def test_the_tour_runs_cell_by_cell_as_committed(jupyter: JupyterEnv):
    committed = nbformat.read(TOUR, as_version=4)
    assert committed.metadata.kernelspec.name == KERNEL
    nb = copy.deepcopy(committed)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    NotebookClient(nb, timeout=60, kernel_name=KERNEL).execute()

    code = [(c, r) for c, r in zip(nb.cells, committed.cells, strict=True)
            if c.cell_type == "code"]
    for ran, expected in code:
        assert outputs_of(ran) == outputs_of(expected), ran.source
    by_source = {c.source: outputs_of(c) for c, _ in code}
    assert by_source['(effect infer.op "What is the answer to everything?")'][0]["data"] == {
        "text/plain": "42"}  # the scripted oracle
    display = by_source['(display (greet "output"))']
    assert display[0] == {"name": "stdout", "output_type": "stream", "text": "Hello, output!"}
    (error,) = by_source["(greet 42)"]
    assert (error["output_type"], error["ename"]) == ("error", "OmegaError")
    assert "Checkpoints (" in by_source[":session checkpoints"][0]["text"]
    counts = [c.execution_count for c, _ in code]
    assert counts == sorted(counts) and len(set(counts)) == len(counts)
