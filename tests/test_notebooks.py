"""Reading notebooks: real ones from other projects (tests/corpus.py) and malformed ones.

Every notebook either reads as the normalised v4 notebook papermill would see, or is refused with
InvalidInput naming it; nothing else may escape. What is accepted must survive what papermill and
nbclient do with a notebook around its execution.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_dataops.core.errors import InvalidInput, NotFound
from jupyter_dataops.core.jobs.params import check_parameters, inspect_notebook
from jupyter_dataops.core.notebooks import (
    MAX_JSON_DEPTH,
    cell_source,
    notebook_kernel,
    parameters_cell_index,
    read_notebook,
)

from . import corpus as corpus_module
from .corpus import CorpusError, Sdist, corpus_notebooks

#: Corpus notebooks refused, with why. papermill cannot load the first four, and fails running the
#: next three (a cell without source; v2 cells that nbformat converts with plain-dict metadata). The
#: last has a kernelspec and tags that are strings (papermill would find "parameters" as a substring
#: of the tags text).
EXPECTED_REFUSED = {
    "nbformat-5.11.1/tests/no_min_version.ipynb": "no 'nbformat_minor'",
    "nbformat-5.11.1/tests/test3_no_metadata.ipynb": "could not be converted",
    "nbformat-5.11.1/tests/test3_no_worksheets.ipynb": "could not be converted",
    "nbformat-5.11.1/tests/test3_worksheet_with_no_cells.ipynb": "could not be converted",
    "nbformat-5.11.1/tests/invalid.ipynb": "cell 1 has no source",
    "nbformat-5.11.1/tests/test4plus.ipynb": "cell 10 has no source",
    "nbformat-5.11.1/tests/test2.ipynb": "format 2 with cells that have no metadata",
    "nbformat-5.11.1/tests/v4_5_invalid_metadata.ipynb": "'kernelspec' is a string",
}


@pytest.fixture(scope="session")
def corpus() -> dict[str, Path]:
    """The corpus, downloaded once into .cache/ (a download failure errors every corpus test)."""
    return corpus_notebooks()


@pytest.fixture
def quiet() -> Iterator[None]:
    """Silence nbformat's validation warnings and logs while papermill reads invalid notebooks."""
    logging.disable(logging.CRITICAL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
    logging.disable(logging.NOTSET)


def _comparable(nb: dict[str, Any]) -> dict[str, Any]:
    """A notebook without what papermill adds on load (cell ids, papermill metadata, empty tags)."""
    ignored = {"papermill", "orig_nbformat", "orig_nbformat_minor"}
    cells = []
    for cell in nb["cells"]:
        meta = {k: v for k, v in cell["metadata"].items() if k not in ignored | {"tags"}}
        cells.append(
            {
                "cell_type": cell["cell_type"],
                "source": cell["source"],
                "metadata": meta,
                "tags": cell["metadata"].get("tags", []),
                "outputs": cell.get("outputs"),
                "attachments": cell.get("attachments"),
            }
        )
    meta = {k: v for k, v in nb["metadata"].items() if k not in ignored}
    return {"metadata": meta, "cells": cells}


def test_corpus_is_fetched_and_varied(corpus):
    assert len(corpus) >= 270
    raw = {label: json.loads(path.read_bytes()) for label, path in corpus.items()}
    versions = {nb.get("nbformat") for nb in raw.values() if isinstance(nb, dict)}
    assert {2, 3, 4} <= versions
    line_lists = [
        label
        for label, nb in raw.items()
        if any(isinstance(c.get("source"), list) for c in nb.get("cells", []))
    ]
    assert len(line_lists) > 200
    languages = {
        (notebook_kernel(nb)[1] or "").lower()
        for nb in raw.values()
        if isinstance(nb.get("metadata"), dict)
    }
    assert {"python", "r", "julia", "c++", "scala", "bash", "haskell", "sas"} <= languages


def test_corpus_download_failures_fail_loudly(tmp_path, monkeypatch):
    pinned = corpus_module.SDISTS[0]
    wrong = Sdist(pinned.name, pinned.version, "0" * 64, pinned.notebooks)
    with pytest.raises(CorpusError, match="not the pinned"):
        corpus_module.fetch(wrong, tmp_path)
    monkeypatch.setattr(corpus_module, "PYPI", "http://127.0.0.1:9/pypi")
    with pytest.raises(CorpusError, match="Cannot find the sdist"):
        corpus_module.fetch(pinned, tmp_path)
    assert not list(tmp_path.glob("nbformat*"))  # nothing half-extracted is left to be trusted


def test_corpus_extracts_only_notebooks_inside_the_sdist():
    import tarfile

    def member(name: str, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type = kind
        return info

    assert corpus_module._safe_member(member("p-1/tests/a.ipynb")) == "tests/a.ipynb"
    for bad in ("p-1/../../etc/a.ipynb", "/abs/a.ipynb", "p-1/setup.py", "a.ipynb"):
        assert corpus_module._safe_member(member(bad)) is None, bad
    assert corpus_module._safe_member(member("p-1/l.ipynb", tarfile.SYMTYPE)) is None


def test_corpus_reads_as_papermill_reads_it(corpus, quiet):
    """Accepted notebooks equal what papermill loads (nbformat.reads + upgrade); the others are
    refused with InvalidInput, and only those expected."""
    from papermill.iorw import load_notebook_node

    refused: dict[str, str] = {}
    problems: list[str] = []
    for label, path in corpus.items():
        try:
            nb = read_notebook(path)
        except InvalidInput as exc:
            refused[label] = str(exc)
            if not str(exc).startswith(path.name):
                problems.append(f"{label}: message does not name it: {exc}")
            continue
        except Exception as exc:
            problems.append(f"{label}: {type(exc).__name__}: {exc}")
            continue
        assert nb["nbformat"] == 4, label
        assert all(isinstance(cell_source(c), str) for c in nb["cells"]), label
        assert all(isinstance(c["source"], str) for c in nb["cells"]), label
        reference = load_notebook_node(str(path))
        if _comparable(nb) != _comparable(reference):
            problems.append(f"{label}: differs from what papermill loads")
    assert problems == []
    assert set(refused) == set(EXPECTED_REFUSED)
    for label, reason in EXPECTED_REFUSED.items():
        assert reason in refused[label], refused[label]


def test_corpus_inspection_matches_papermill(corpus, quiet):
    """inspect_notebook never raises on a notebook that reads, and finds the names papermill's own
    inspect_notebook finds, wherever papermill can inspect the notebook."""
    import papermill

    compared = []
    for label, path in corpus.items():
        if label in EXPECTED_REFUSED:
            continue
        spec = inspect_notebook(read_notebook(path), label)
        if not spec.has_parameters_cell:
            assert any("no cell tagged 'parameters'" in w for w in spec.warnings), label
            continue
        try:
            expected = list(papermill.inspect_notebook(str(path)))
        except Exception:  # e.g. no kernel or language in the metadata: papermill cannot tell
            continue
        assert [p.name for p in spec.parameters] == expected, label
        compared.append(label)
    assert len(compared) >= 9, compared  # papermill's, jupytext's, and an R notebook


def test_corpus_line_lists_and_v3_find_the_parameters_cell(corpus, tmp_path):
    # papermill's simple_execute.ipynb stores its sources as lists of lines.
    path = corpus["papermill-2.7.0/simple_execute.ipynb"]
    raw = json.loads(path.read_text())
    assert isinstance(raw["cells"][0]["source"], list)
    spec = inspect_notebook(read_notebook(path), "simple_execute.ipynb")
    assert spec.has_parameters_cell and [p.name for p in spec.parameters] == ["msg"]

    # nbformat's v3 test notebook, with its first code cell tagged as the parameters cell.
    v3 = json.loads(corpus["nbformat-5.11.1/tests/test3.ipynb"].read_text())
    assert v3["nbformat"] == 3
    cells = v3["worksheets"][0]["cells"]
    first_code = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
    cells[first_code]["metadata"]["tags"] = ["parameters"]
    tagged = tmp_path / "test3.ipynb"
    tagged.write_text(json.dumps(v3))
    nb = read_notebook(tagged)
    assert nb["nbformat"] == 4 and nb["metadata"]["orig_nbformat"] == 3
    assert parameters_cell_index(nb) == first_code
    assert inspect_notebook(nb, "test3.ipynb").has_parameters_cell

    cells[first_code]["input"] = ["alpha = 0.5  # rate\n", "epochs = 3\n"]
    tagged.write_text(json.dumps(v3))
    spec = inspect_notebook(read_notebook(tagged), "test3.ipynb")
    assert [(p.name, p.type, p.help) for p in spec.parameters] == [
        ("alpha", "float", "rate"),
        ("epochs", "int", ""),
    ]


def test_corpus_v2_notebook_converts_when_its_cells_have_metadata(corpus, tmp_path, quiet):
    """nbformat converts v2 cells without metadata to plain dicts, which papermill cannot run (so
    such notebooks are refused); with metadata, a v2 notebook converts, inspects and runs."""
    v2 = json.loads(corpus["nbformat-5.11.1/tests/test2.ipynb"].read_text())
    assert v2["nbformat"] == 2
    code = []
    for cell in v2["worksheets"][0]["cells"]:
        cell["metadata"] = {}
        if cell["cell_type"] == "code":
            code.append(cell)
    code[0]["metadata"]["tags"] = ["parameters"]
    code[0]["input"] = "alpha = 1"
    path = tmp_path / "test2.ipynb"
    path.write_text(json.dumps(v2))
    nb = read_notebook(path)
    assert nb["nbformat"] == 4 and nb["metadata"]["orig_nbformat"] == 2
    assert [p.name for p in inspect_notebook(nb, "test2.ipynb").parameters] == ["alpha"]
    _run_through_papermill(path, tmp_path / "out.ipynb")


def test_reading_a_v4_notebook_imports_neither_nbformat_nor_jsonschema(tmp_path):
    """nbformat's import costs about a second here (jsonschema); a v4 notebook must not pay it."""
    from .notebooks import write_notebook

    path = write_notebook(tmp_path / "a.ipynb", ["print(alpha)"], parameters="alpha = 1")
    code = (
        "import sys; from pathlib import Path\n"
        "from jupyter_dataops.core.notebooks import read_notebook\n"
        "from jupyter_dataops.core.jobs.params import inspect_notebook, check_parameters\n"
        f"spec = inspect_notebook(read_notebook(Path({str(path)!r})), 'a.ipynb')\n"
        "check_parameters(spec, {'alpha': '2'})\n"
        "print(sorted({m.split('.')[0] for m in sys.modules}"
        " & {'nbformat', 'jsonschema', 'fastjsonschema', 'papermill'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"


# -- malformed notebooks ------------------------------------------------------------------------
def _nb(**changes: Any) -> dict[str, Any]:
    nb: dict[str, Any] = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "p",
                "metadata": {"tags": ["parameters"]},
                "outputs": [],
                "source": "alpha = 1\n",
            }
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    nb.update(changes)
    return nb


def _cell(**changes: Any) -> dict[str, Any]:
    cell = copy.deepcopy(_nb()["cells"][0])
    cell.update(changes)
    return cell


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


MALFORMED: dict[str, tuple[bytes | dict[str, Any], str]] = {
    "empty file": (b"", "is empty"),
    "only whitespace": (b"  \n", "is empty"),
    "not JSON": (b"{not json", "not valid JSON"),
    "merge conflict": (b'{\n<<<<<<< HEAD\n "cells": []\n=======\n>>>>>>> b\n}', "not valid JSON"),
    "latin-1": ('{"cells": [], "x": "caf\u00e9"}'.encode("latin-1"), "not UTF-8"),
    "UTF-16": (json.dumps(_nb()).encode("utf-16"), "not UTF-8"),
    "byte-order mark": (b"\xef\xbb\xbf" + json.dumps(_nb()).encode(), "byte-order mark"),
    "JSON nested 200,000 deep": (('{"cells": ' + _deep(200_000) + "}").encode(), "nested more"),
    "metadata nested past the bound": (
        json.dumps(_nb()).replace('"metadata": {', f'"metadata": {{"x": {_deep(150)},', 1).encode(),
        f"nested more than {MAX_JSON_DEPTH}",
    ),
    "integer of 5,000 digits": (
        json.dumps(_nb()).replace('"nbformat": 4', '"nbformat": ' + "9" * 5000).encode(),
        "not valid JSON",
    ),
    "a list": ([_nb()], "its JSON is a list"),  # type: ignore[dict-item]
    "cells not a list": (_nb(cells={"0": _cell()}), "no cells list"),
    "cell not an object": (_nb(cells=["alpha = 1"]), "cell 1 is a string, not an object"),
    "cell without cell_type": (_nb(cells=[{"metadata": {}, "source": ""}]), "no cell_type"),
    "metadata a list": (_nb(metadata=[]), "metadata that is a list"),
    "no metadata": ({k: v for k, v in _nb().items() if k != "metadata"}, "no metadata"),
    "kernelspec a string": (_nb(metadata={"kernelspec": "python3"}), "'kernelspec' is a string"),
    "language_info a list": (_nb(metadata={"language_info": ["python"]}), "'language_info' is"),
    "kernel name a list": (
        _nb(metadata={"kernelspec": {"name": ["python3"]}}),
        "kernelspec.name is a list",
    ),
    "papermill metadata a string": (_nb(metadata={"papermill": "x"}), "'papermill' is a string"),
    "nbformat a string": (_nb(nbformat="4"), "'nbformat' field is '4'"),
    "nbformat a float": (_nb(nbformat=4.0), "must be the number 4"),
    "nbformat missing": ({k: v for k, v in _nb().items() if k != "nbformat"}, "no 'nbformat'"),
    "nbformat 1": (_nb(nbformat=1), "format 1, which papermill cannot read"),
    "nbformat 5": (_nb(nbformat=5), "format 5"),
    "nbformat_minor missing": (
        {k: v for k, v in _nb().items() if k != "nbformat_minor"},
        "no 'nbformat_minor'",
    ),
    "nbformat_minor a string": (_nb(nbformat_minor="5"), "'nbformat_minor' is '5'"),
    "v3 without worksheets": ({"nbformat": 3, "nbformat_minor": 0, "metadata": {}}, "converted"),
    "v2 with cells of the wrong type": (
        {"nbformat": 2, "metadata": {}, "worksheets": [{"cells": 7}]},
        "converted",
    ),
    "cell metadata a string": (_nb(cells=[_cell(metadata="x")]), "cell 1 has metadata that is"),
    "cell without metadata": (
        _nb(cells=[{k: v for k, v in _cell().items() if k != "metadata"}]),
        "cell 1 has no metadata",
    ),
    "tags a string": (_nb(cells=[_cell(metadata={"tags": "parameters"})]), "tags of cell 1"),
    "tags null": (_nb(cells=[_cell(metadata={"tags": None})]), "tags of cell 1 are null"),
    "cell papermill metadata a list": (
        _nb(cells=[_cell(metadata={"papermill": []})]),
        "papermill metadata of cell 1",
    ),
    "source lines not text": (_nb(cells=[_cell(source=["a = 1\n", 2])]), "a source that is a list"),
    "source an object": (_nb(cells=[_cell(source={"a": 1})]), "a source that is an object"),
    "code cell without source": (
        _nb(cells=[{k: v for k, v in _cell().items() if k != "source"}]),
        "cell 1 has no source",
    ),
    "outputs a string": (_nb(cells=[_cell(outputs="none")]), "outputs of cell 1 are a string"),
    "output not an object": (_nb(cells=[_cell(outputs=["x"])]), "output 1 of cell 1"),
    "output_type a list": (
        _nb(cells=[_cell(outputs=[{"output_type": ["stream"]}])]),
        "output_type that is not text",
    ),
    "output data a list": (
        _nb(cells=[_cell(outputs=[{"output_type": "display_data", "data": []}])]),
        "data of output 1",
    ),
    "stream text not text": (
        _nb(cells=[_cell(outputs=[{"output_type": "stream", "name": "stdout", "text": [1]}])]),
        "text of output 1",
    ),
    "markdown cell without source": (
        _nb(cells=[{"cell_type": "markdown", "metadata": {}}]),
        "cell 1 has no source",
    ),
    "cell id a list": (_nb(cells=[_cell(id=["p"])]), "the id of cell 1 is a list"),
    "attachments not objects": (
        _nb(cells=[{"cell_type": "markdown", "metadata": {}, "source": "", "attachments": []}]),
        "attachments of cell 1",
    ),
}


@pytest.mark.parametrize("content", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_notebooks_are_refused_naming_them(tmp_path, content):
    data, reason = content
    path = tmp_path / "train.ipynb"
    path.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
    with pytest.raises(InvalidInput) as info:
        read_notebook(path)
    assert str(info.value).startswith("train.ipynb "), info.value
    assert reason in str(info.value)
    assert info.value.hint


def test_unreadable_paths_are_refused_with_the_reason(tmp_path):
    loop = tmp_path / "loop.ipynb"
    os.symlink(tmp_path / "other.ipynb", loop)
    os.symlink(loop, tmp_path / "other.ipynb")
    with pytest.raises(InvalidInput, match="symbolic link loop"):
        read_notebook(loop)
    with pytest.raises(InvalidInput, match="longer than the file system allows") as info:
        read_notebook(tmp_path / ("n" * 300 + ".ipynb"))
    assert len(info.value.message) < 200  # the name is shortened in the message
    with pytest.raises(InvalidInput, match="is a directory"):
        read_notebook(tmp_path)
    fifo = tmp_path / "pipe.ipynb"
    os.mkfifo(fifo)
    with pytest.raises(InvalidInput, match="not a regular file"):
        read_notebook(fifo)  # and does not block waiting for a writer
    with pytest.raises(InvalidInput, match="part of its path is not a folder"):
        read_notebook(tmp_path / "pipe.ipynb" / "x.ipynb")
    with pytest.raises(NotFound):
        read_notebook(tmp_path / "missing.ipynb")


def test_max_bytes_bounds_what_is_read(tmp_path):
    path = tmp_path / "big.ipynb"
    path.write_text(json.dumps(_nb(metadata={"blob": "x" * 5000})))
    size = path.stat().st_size
    assert read_notebook(path, max_bytes=size)["metadata"]["blob"]
    with pytest.raises(InvalidInput, match=r"big.ipynb is 5.\d KB, more than the 4.9 KB") as info:
        read_notebook(path, max_bytes=size - 1 if size - 1 < 5000 else 5000)
    assert "Clear its outputs" in str(info.value)


def test_reading_normalises_as_nbformat_does(tmp_path):
    nb = _nb(
        cells=[
            _cell(
                source=["alpha = 1\n", "beta = 2\n"],
                metadata={"tags": ["parameters"], "trusted": True},
            ),
            _cell(
                id="o",
                metadata={},
                source=["print(alpha)"],
                outputs=[
                    {"output_type": "stream", "name": "stdout", "text": ["1\n", "2\n"]},
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {"text/plain": ["a\n", "b"], "application/json": ["kept", "apart"]},
                    },
                ],
            ),
            {"cell_type": "markdown", "metadata": {}, "source": ["# Title\n", "text"]},
        ],
        metadata={"signature": "sha", "kernelspec": {"name": "python3", "language": "python"}},
    )
    path = tmp_path / "lines.ipynb"
    path.write_text(json.dumps(nb))
    read = read_notebook(path)
    params, code, markdown = read["cells"]
    assert params["source"] == "alpha = 1\nbeta = 2\n"
    assert "trusted" not in params["metadata"] and "signature" not in read["metadata"]
    assert code["outputs"][0]["text"] == "1\n2\n"
    assert code["outputs"][1]["data"] == {
        "text/plain": "a\nb",
        "application/json": ["kept", "apart"],
    }
    assert markdown["source"] == "# Title\ntext"
    spec = inspect_notebook(read, "lines.ipynb")
    assert [p.name for p in spec.parameters] == ["alpha", "beta"]
    assert (spec.kernel_name, spec.language, spec.cell_count) == ("python3", "python", 2)


def test_a_parameters_cell_that_does_not_parse_is_read_by_papermills_inspector(tmp_path):
    path = tmp_path / "magic.ipynb"
    source = ["%load_ext autoreload\n", "alpha = 0.5  # rate\n", "name: str = 'x'\n"]
    path.write_text(json.dumps(_nb(cells=[_cell(source=source)])))
    spec = inspect_notebook(read_notebook(path), "magic.ipynb")
    assert [(p.name, p.type, p.default, p.help) for p in spec.parameters] == [
        ("alpha", "float", 0.5, "rate"),
        ("name", "str", "x", ""),
    ]


# -- accepted means papermill can run it ----------------------------------------------------------
def _run_through_papermill(path: Path, out: Path) -> None:
    """What papermill and nbclient do with a notebook around executing it, without a kernel: load,
    inject parameters, prepare metadata, start, run and complete each cell, and save."""
    import nbformat
    from papermill.engines import NotebookExecutionManager
    from papermill.execute import prepare_notebook_metadata, remove_error_markers
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = load_notebook_node(str(path))
    # The language is passed as an executor should for notebooks whose metadata names none.
    nb = parameterize_notebook(nb, {"alpha": 2}, kernel_name="python3", language="python")
    nb = prepare_notebook_metadata(nb, str(path), str(out))
    nb = remove_error_markers(nb)
    # No output_path: papermill would save after every cell; one save at the end is enough here.
    manager = NotebookExecutionManager(nb, output_path=None, progress_bar=False)
    manager.notebook_start()
    for index, cell in enumerate(manager.nb.cells):
        manager.cell_start(cell, index)
        if cell.cell_type == "code" and cell.source.strip():  # nbclient's test before it runs one
            assert isinstance("raises-exception" in cell.metadata.get("tags", []), bool)
            cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text="ok\n"))
        manager.cell_complete(cell, index)
    manager.notebook_complete()
    out.write_text(nbformat.writes(manager.nb))


_BASE = _nb(
    cells=[
        _cell(source=["alpha = 1\n"]),
        _cell(
            id="o",
            metadata={"tags": ["x"], "papermill": {}},
            source="print(alpha)",
            outputs=[
                {"output_type": "stream", "name": "stdout", "text": ["1\n"]},
                {
                    "output_type": "execute_result",
                    "execution_count": 1,
                    "metadata": {},
                    "data": {"text/plain": ["1"]},
                },
            ],
        ),
        {
            "cell_type": "markdown",
            "id": "m",
            "metadata": {},
            "source": ["![a](attachment:a.png)"],
            "attachments": {"a.png": {"image/png": "iVBORw0KGgo="}},
        },
    ]
)
_REPLACEMENTS: list[Any] = [None, True, 0, 1.5, "x", [], {}, ["x"], [1], {"k": 1}, [{}]]


_REMOVED = object()


def _variants() -> Iterator[tuple[str, dict[str, Any]]]:
    def walk(node: Any, path: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        if path:
            yield path
        items = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else []
        )
        for key, child in items:
            yield from walk(child, (*path, key))

    for path in walk(_BASE, ()):
        for replacement in [*_REPLACEMENTS, _REMOVED]:
            nb = copy.deepcopy(_BASE)
            parent = nb
            for key in path[:-1]:
                parent = parent[key]
            if replacement is _REMOVED:
                del parent[path[-1]]
                label = "/".join(map(str, path)) + " removed"
            else:
                parent[path[-1]] = copy.deepcopy(replacement)
                label = "/".join(map(str, path)) + "=" + json.dumps(replacement)
            yield label, nb


def test_whatever_is_accepted_survives_papermill(tmp_path, quiet):
    """Each value of a notebook replaced by every other JSON type, or removed: read_notebook refuses
    the variant with InvalidInput, or papermill and nbclient handle it without an error; and
    inspecting and checking parameters for an accepted one raises nothing but InvalidInput."""
    accepted = refused = 0
    problems = []
    for label, nb in _variants():
        path = tmp_path / "variant.ipynb"
        path.write_text(json.dumps(nb))
        try:
            read = read_notebook(path)
        except InvalidInput:
            refused += 1
            continue
        except Exception as exc:
            problems.append(f"{label}: read_notebook raised {type(exc).__name__}: {exc}")
            continue
        accepted += 1
        try:
            spec = inspect_notebook(read, "variant.ipynb")
            check_parameters(spec, {"alpha": 2})
        except InvalidInput:
            pass
        except Exception as exc:
            problems.append(f"{label}: inspect/check raised {type(exc).__name__}: {exc}")
        try:
            _run_through_papermill(path, tmp_path / "out.ipynb")
        except Exception as exc:
            problems.append(f"{label}: accepted, but papermill: {type(exc).__name__}: {exc}")
    assert problems == []
    assert accepted > 100 and refused > 100  # both sides are exercised


def test_corpus_notebooks_that_read_survive_papermill(corpus, tmp_path, quiet):
    problems = []
    for label, path in corpus.items():
        if label in EXPECTED_REFUSED:
            continue
        try:
            _run_through_papermill(path, tmp_path / "out.ipynb")
        except Exception as exc:
            problems.append(f"{label}: {type(exc).__name__}: {exc}")
    assert problems == []
