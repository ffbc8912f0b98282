"""The pure core: parameter inspection and coercion, path safety, configuration."""

from __future__ import annotations

import os

import pytest
from traitlets import TraitError

from jupyter_dataops.core.config import DataOps
from jupyter_dataops.core.errors import Forbidden, InvalidInput, NotFound
from jupyter_dataops.core.jobs.models import ALLOWED_TRANSITIONS, JobStatus, ParameterSpec
from jupyter_dataops.core.jobs.params import (
    check_parameters,
    coerce_value,
    inspect_notebook,
    inspect_python_cell,
    read_notebook,
)
from jupyter_dataops.core.paths import resolve_inside, resolve_notebook

from .notebooks import write_notebook

PARAMS = """alpha = 0.1  # learning rate
epochs: int = 5
name = "run"
layers = [16,
          8]
options = {"a": 1}  # type: dict extra options
seed = None
flag = True
"""


def test_inspect_infers_types_defaults_and_help():
    specs = {s.name: s for s in inspect_python_cell(PARAMS)}
    assert [s for s in specs] == ["alpha", "epochs", "name", "layers", "options", "seed", "flag"]
    assert (specs["alpha"].type, specs["alpha"].default, specs["alpha"].help) == (
        "float",
        0.1,
        "learning rate",
    )
    assert (specs["epochs"].type, specs["epochs"].default) == ("int", 5)
    assert specs["name"].type == "str"
    assert (specs["layers"].type, specs["layers"].default) == ("list", [16, 8])
    assert (specs["options"].type, specs["options"].help) == ("dict", "extra options")
    assert specs["seed"].type == "any"
    assert specs["flag"].type == "bool"


def test_inspect_non_python_cell_returns_none():
    assert inspect_python_cell("%matplotlib inline\nx = 1") is None


def test_inspect_notebook_without_parameters_cell(tmp_path):
    nb = read_notebook(write_notebook(tmp_path / "a.ipynb", ["print(1)", "x = 2"]))
    spec = inspect_notebook(nb, "a.ipynb")
    assert not spec.has_parameters_cell
    assert spec.parameters == []
    assert spec.cell_count == 2
    assert spec.kernel_name == "python3"


@pytest.mark.parametrize(
    ("type_", "given", "expected"),
    [
        ("float", "0.5", 0.5),
        ("float", 2, 2.0),
        ("int", "3", 3),
        ("int", 4.0, 4),
        ("bool", "yes", True),
        ("bool", "False", False),
        ("str", "hello", "hello"),
        ("list", "[1, 2]", [1, 2]),
        ("dict", '{"k": 1}', {"k": 1}),
        ("any", "None", None),
        ("any", "1e3", 1000.0),
    ],
)
def test_coerce_accepts(type_, given, expected):
    assert coerce_value(ParameterSpec(name="p", type=type_), given) == expected


@pytest.mark.parametrize(
    ("type_", "given"),
    [("float", "abc"), ("int", "1.5"), ("int", True), ("bool", "maybe"), ("str", 5), ("list", "3")],
)
def test_coerce_rejects_with_a_message_naming_the_parameter(type_, given):
    with pytest.raises(InvalidInput) as info:
        coerce_value(ParameterSpec(name="p", type=type_, default_repr="x"), given)
    assert "'p'" in info.value.message and type_ in info.value.message
    assert info.value.hint


def test_check_parameters_warns_on_unknown_and_without_cell(tmp_path):
    nb = read_notebook(write_notebook(tmp_path / "a.ipynb", ["x"], parameters=PARAMS))
    spec = inspect_notebook(nb, "a.ipynb")
    values, warnings = check_parameters(spec, {"alpha": "0.2", "other": "7"})
    assert values == {"alpha": 0.2, "other": 7}
    assert len(warnings) == 1 and "'other'" in warnings[0]

    # As papermill does, parameters for a notebook without a parameters cell go in a new cell at
    # the top, with a warning (tests/test_params.py has the details).
    bare = inspect_notebook(read_notebook(write_notebook(tmp_path / "b.ipynb", ["x"])), "b.ipynb")
    assert check_parameters(bare, {}) == ({}, [])
    values, warnings = check_parameters(bare, {"alpha": 1})
    assert values == {"alpha": 1}
    assert len(warnings) == 1 and "no cell tagged 'parameters'" in warnings[0]
    with pytest.raises(InvalidInput, match="not a valid parameter name"):
        check_parameters(spec, {"not valid": 1})


def test_paths_stay_inside_the_root(tmp_path):
    root = tmp_path / "root"
    nb = write_notebook(root / "sub" / "n.ipynb", ["1"])
    outside = write_notebook(tmp_path / "secret.ipynb", ["1"])
    assert resolve_notebook(root, "sub/n.ipynb") == nb.resolve()
    assert resolve_notebook(root, str(nb)) == nb.resolve()
    for bad in ["../secret.ipynb", str(outside), "sub/../../secret.ipynb"]:
        with pytest.raises(Forbidden):
            resolve_notebook(root, bad)
    os.symlink(outside, root / "link.ipynb")
    with pytest.raises(Forbidden):
        resolve_notebook(root, "link.ipynb")
    with pytest.raises(NotFound):
        resolve_notebook(root, "missing.ipynb")
    with pytest.raises(InvalidInput):
        resolve_notebook(root, "sub")
    with pytest.raises(InvalidInput):
        resolve_inside(root, "")


def test_read_notebook_rejects_garbage(tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    with pytest.raises(InvalidInput, match="not a valid notebook"):
        read_notebook(bad)
    bad.write_text('{"cells": 3}')
    with pytest.raises(InvalidInput, match="no cells"):
        read_notebook(bad)


def test_config_defaults_and_validation(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    dataops = DataOps(root_dir=str(tmp_path))
    assert dataops.store_url == f"sqlite:///{tmp_path / 'data' / 'dataops' / 'dataops.db'}"
    assert dataops.job_executor_class.__name__ == "LocalExecutor"
    assert DataOps(job_executor_class="local").job_executor_class.__name__ == "LocalExecutor"
    with pytest.raises(TraitError, match="No backend named 'slurm'"):
        DataOps(job_executor_class="slurm")
    with pytest.raises(TraitError, match="relative folder"):
        DataOps(jobs_dir="../elsewhere")


def test_state_machine_has_no_exit_from_terminal_states():
    for status in JobStatus:
        assert status.is_terminal == (not ALLOWED_TRANSITIONS[status])
