"""Parameter rules: notebooks without a parameters cell, names as the kernel's language reads them,
bounds on values, and the notebook's language against the kernel's."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from jupyter_dataops.core.errors import InvalidInput
from jupyter_dataops.core.jobs.models import NotebookParameters, ParameterSpec
from jupyter_dataops.core.jobs.params import (
    MAX_VALUE_DEPTH,
    PAPERMILL_TRANSLATORS,
    check_kernel_language,
    check_parameters,
    inspect_notebook,
    language_family,
)
from jupyter_dataops.core.notebooks import notebook_languages, read_notebook

from .corpus import corpus_notebooks
from .notebooks import write_notebook

NO_CELL_WARNING = (
    "train.ipynb has no cell tagged 'parameters': the parameters are injected in a new cell at "
    "the top, as papermill does. Tag the cell that sets the defaults 'parameters' to have them "
    "inserted after it."
)


@pytest.fixture(scope="session")
def corpus() -> dict[str, Path]:
    """The corpus of tests/corpus.py (a download failure errors the tests using it)."""
    return corpus_notebooks()


def _notebook(
    tmp_path: Path, parameters: str | None = "alpha = 0.5\nname = 'run'", **metadata: Any
) -> dict[str, Any]:
    path = write_notebook(tmp_path / "train.ipynb", ["print(1)"], parameters=parameters)
    if metadata:
        raw = json.loads(path.read_text())
        raw["metadata"] = metadata
        path.write_text(json.dumps(raw))
    return read_notebook(path)


def _spec(tmp_path: Path, **kwargs: Any) -> NotebookParameters:
    return inspect_notebook(_notebook(tmp_path, **kwargs), "train.ipynb")


R_METADATA = {
    "kernelspec": {"name": "ir", "display_name": "R", "language": "R"},
    "language_info": {"name": "R"},
}


# -- no parameters cell: injected at the top, as papermill does ----------------------------------
def test_parameters_for_a_notebook_without_a_parameters_cell_are_accepted_with_a_warning(tmp_path):
    spec = _spec(tmp_path, parameters=None)
    assert not spec.has_parameters_cell
    assert spec.warnings == [NO_CELL_WARNING]  # shown by the run dialog before anything runs
    values, warnings = check_parameters(spec, {"alpha": "0.2", "name": "x", "n": 3})
    assert values == {"alpha": 0.2, "name": "x", "n": 3}
    assert warnings == [NO_CELL_WARNING]  # one warning, not one per name
    assert check_parameters(spec, {}) == ({}, [])


def test_a_notebook_with_a_parameters_cell_has_no_warning(tmp_path):
    spec = _spec(tmp_path)
    assert spec.has_parameters_cell and spec.warnings == []
    assert (spec.kernel_name, spec.language) == ("python3", "python")


# -- names as Python reads them ------------------------------------------------------------------
@pytest.mark.parametrize("name", ["import", "None", "True", "False", "class", "lambda", "await"])
def test_python_keywords_are_refused(tmp_path, name):
    with pytest.raises(InvalidInput, match="is a Python keyword") as info:
        check_parameters(_spec(tmp_path), {name: 1})
    assert "SyntaxError" in info.value.message and info.value.hint


@pytest.mark.parametrize("name", ["match", "case", "type", "_", "ñame", "Δt", "x1"])
def test_soft_keywords_and_unicode_names_are_valid(tmp_path, name):
    values, _ = check_parameters(_spec(tmp_path), {name: 1})
    assert values == {name: 1}
    # ... and papermill's injected cell sets exactly that name in Python.
    from papermill.translators import translate_parameters

    namespace: dict[str, Any] = {}
    exec(translate_parameters("python3", "python", values, "Parameters"), namespace)
    assert namespace[name] == 1


@pytest.mark.parametrize(
    ("name", "read_as"),
    [("ｘ", "x"), ("ﬁle", "file"), ("ａｌｐｈａ", "alpha"), ("\u210cello", "Hello")],
)
def test_names_python_normalises_are_refused_naming_what_python_reads(tmp_path, name, read_as):
    # What Python would do with it: set another variable, past that one's type check.
    namespace: dict[str, Any] = {}
    exec(f"{name} = 1", namespace)
    assert read_as in namespace and name not in namespace
    spec = _spec(tmp_path)
    with pytest.raises(InvalidInput, match="is read by Python as") as info:
        check_parameters(spec, {name: "not a float"})
    assert repr(read_as) in info.value.message and repr(read_as) in info.value.hint


def test_a_name_normalised_to_a_keyword_is_told_to_rename(tmp_path):
    name = "ｉｍｐｏｒｔ"
    assert unicodedata.normalize("NFKC", name) == "import"
    with pytest.raises(InvalidInput, match="'import'") as info:
        check_parameters(_spec(tmp_path), {name: 1})
    assert info.value.hint == "Rename the parameter."


@pytest.mark.parametrize("name", ["", "not valid", "1x", "a-b", "a.b", " x", 3, None])
def test_non_identifiers_are_refused(tmp_path, name):
    with pytest.raises(InvalidInput, match="not a valid parameter name"):
        check_parameters(_spec(tmp_path), {name: 1})


def test_python_rules_apply_when_the_notebook_names_no_language(tmp_path):
    spec = _spec(tmp_path, kernelspec={"name": "python3"})
    assert spec.language is None
    with pytest.raises(InvalidInput, match="Python keyword"):
        check_parameters(spec, {"class": 1})


def test_other_languages_keep_a_plain_identifier_check(tmp_path):
    """papermill's translators write names per language; Python's keywords mean nothing to R."""
    spec = _spec(tmp_path, **R_METADATA)
    assert spec.language == "R"
    values, _ = check_parameters(spec, {"class": 1, "import": 2, "ｘ": 3})
    assert values == {"class": 1, "import": 2, "ｘ": 3}
    with pytest.raises(InvalidInput, match="not a valid parameter name"):
        check_parameters(spec, {"not valid": 1})


# -- other languages -----------------------------------------------------------------------------
def test_an_r_parameters_cell_is_inspected_without_crashing(tmp_path):
    """papermill can only inspect Python; an R parameters cell used to raise NotImplementedError."""
    nb = _notebook(tmp_path, parameters='alpha <- 0.5\nname = "x"', **R_METADATA)
    spec = inspect_notebook(nb, "train.ipynb")
    assert spec.has_parameters_cell and spec.parameters == []
    assert spec.warnings and "in R, which this server cannot read" in spec.warnings[0]
    assert check_parameters(spec, {"alpha": "0.7"})[0] == {"alpha": 0.7}


def test_a_language_papermill_cannot_write_parameters_in_is_warned_about(tmp_path):
    metadata = {"kernelspec": {"name": "calysto_scheme", "language": "scheme"}}
    spec = _spec(tmp_path, **metadata)
    assert any("papermill cannot write parameters in scheme" in w for w in spec.warnings)
    _, warnings = check_parameters(spec, {"x": 1})
    assert any("papermill cannot write parameters in scheme" in w for w in warnings)


def test_the_translator_table_is_papermills():
    from papermill.translators import papermill_translators

    registry = papermill_translators._translators
    assert set(registry) == set(PAPERMILL_TRANSLATORS)
    python_like = {name for name, cls in registry.items() if cls.__name__ == "PythonTranslator"}
    assert python_like == {k for k, v in PAPERMILL_TRANSLATORS.items() if v == "python"}
    for name, cls in registry.items():
        assert language_family(cls.__name__.removesuffix("Translator")) in (
            PAPERMILL_TRANSLATORS[name],
            None,  # CSharp/FSharp: the table says c#/f#
        ), name


@pytest.mark.parametrize(
    "source",
    [
        "alpha = 1\x00",  # null byte: ast.parse raises ValueError on Python 3.11
        "x = " + "-" * 100_000 + "1",  # too deep for the parser
        "x = [" * 300 + "]" * 300,
        "def f(:\n  pass\nalpha = 0.5",  # does not parse: papermill's inspector reads it
        "alpha = 1  # type: int extra",
        "x = 10**100000",
        "x = {1, 2}\ny = b'z'\nz = 1j",
    ],
)
def test_strange_parameters_cells_never_crash_inspection(tmp_path, source):
    spec = _spec(tmp_path, parameters=source)
    assert spec.has_parameters_cell
    json.dumps(spec.model_dump())  # what the API returns is JSON


# -- bounds on values ----------------------------------------------------------------------------
def test_a_value_larger_than_the_bound_is_refused_naming_it_and_the_fix(tmp_path):
    spec = _spec(tmp_path)
    assert check_parameters(spec, {"name": "x" * 999_990})[0]
    with pytest.raises(InvalidInput) as info:
        check_parameters(spec, {"name": "x" * 1_000_000})
    message = str(info.value)
    assert "'name'" in message and "1,000,002 bytes" in message and "1,000,000 bytes" in message
    assert "file path" in info.value.hint
    # UTF-8 bytes are counted, not characters.
    with pytest.raises(InvalidInput, match="1,002 bytes"):
        check_parameters(spec, {"name": "é" * 500}, max_value_bytes=1000)
    # A big string is refused before it is parsed, whatever its declared type.
    with pytest.raises(InvalidInput, match="more than the limit"):
        check_parameters(spec, {"alpha": "[" + "1," * 10_000 + "1]"}, max_value_bytes=1000)


def test_values_nested_absurdly_deep_are_refused_not_crashed_on(tmp_path):
    spec = _spec(tmp_path, parameters="layers = [1]\noptions = {}")
    deep: Any = 1
    for _ in range(100_000):
        deep = [deep]
    for name in ("layers", "unknown"):
        with pytest.raises(InvalidInput, match=f"nested more than {MAX_VALUE_DEPTH} levels"):
            check_parameters(spec, {name: deep})
    deep_dict: Any = {}
    for _ in range(MAX_VALUE_DEPTH + 1):
        deep_dict = {"k": deep_dict}
    with pytest.raises(InvalidInput, match="nested"):
        check_parameters(spec, {"options": deep_dict})
    # Text that parses into something absurdly deep is not parsed into it.
    with pytest.raises(InvalidInput, match="expects list"):
        check_parameters(spec, {"layers": "[" * 100_000 + "]" * 100_000})


def test_values_at_the_depth_bound_are_injected_and_run(tmp_path):
    from papermill.translators import translate_parameters

    spec = _spec(tmp_path, parameters="layers = [1]")
    value: Any = 1
    for _ in range(MAX_VALUE_DEPTH - 1):
        value = [value]
    values, _ = check_parameters(spec, {"layers": value})
    namespace: dict[str, Any] = {}
    exec(translate_parameters("python3", "python", values, "Parameters"), namespace)
    assert namespace["layers"] == value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({1, 2}, "not JSON serializable"),
        (float("nan"), "Out of range float"),
        ("\ud800", "not valid Unicode"),
        (10**5000, "Exceeds the limit"),
    ],
    ids=["set", "nan", "lone surrogate", "int of 5000 digits"],
)
def test_values_that_are_not_json_are_refused(tmp_path, value, reason):
    with pytest.raises(InvalidInput, match=reason):
        check_parameters(_spec(tmp_path), {"other": value})


def test_text_that_reads_as_a_python_set_stays_text_for_untyped_parameters(tmp_path):
    spec = _spec(tmp_path, parameters="anything = None")
    assert check_parameters(spec, {"anything": "{1, 2}"})[0] == {"anything": "{1, 2}"}


# -- the notebook's language against the kernel's -------------------------------------------------
def test_an_r_notebook_sent_to_a_python_kernel_is_refused(tmp_path):
    nb = _notebook(tmp_path, **R_METADATA)
    with pytest.raises(InvalidInput) as info:
        check_kernel_language(nb, "python3", "python", display_path="train.ipynb")
    message, hint = info.value.message, info.value.hint or ""
    assert "train.ipynb is written in R" in message and "'python3' runs python" in message
    assert "--kernel-name" in hint and "kernel field" in hint
    check_kernel_language(nb, "ir", "R")


@pytest.mark.parametrize(
    ("metadata", "kernel_language"),
    [
        ({"language_info": {"name": "python"}}, "python"),
        ({"kernelspec": {"name": "python3", "language": "python"}}, "Python 3"),
        ({"language_info": {"name": "python"}}, None),  # the kernel's language is not known
        ({}, "python"),  # the notebook names no language
        ({"language_info": {"name": "xonsh"}}, "python"),  # a language we do not know
        ({"language_info": {"name": "c++"}, "kernelspec": {"language": "C++17"}}, "C++17"),
        ({"language_info": {"name": "octave"}}, "matlab"),
        # .NET Interactive: language_info says the notebook format, kernelspec the language.
        ({"language_info": {"name": "polyglot-notebook"}, "kernelspec": {"language": "C#"}}, "C#"),
    ],
)
def test_languages_that_agree_or_are_unknown_are_not_refused(tmp_path, metadata, kernel_language):
    check_kernel_language(_notebook(tmp_path, **metadata), "k", kernel_language)


def test_corpus_notebooks_run_on_their_own_language_and_only_python_on_python(corpus):
    refused = 0
    for label, path in corpus.items():
        try:
            nb = read_notebook(path)
        except InvalidInput:
            continue
        for language in notebook_languages(nb):
            check_kernel_language(nb, "own", language)  # never refused
        families = {language_family(lang) for lang in notebook_languages(nb)} - {None}
        try:
            check_kernel_language(nb, "python3", "python")
        except InvalidInput:
            refused += 1
            assert families and "python" not in families, label
        else:
            assert not families or "python" in families, label
    assert refused >= 20  # jupytext's R, Julia, C++, Scala, ... notebooks


def test_language_families():
    assert language_family("python3") == language_family("IPython") == "python"
    assert language_family("Python 3.11") == "python"
    assert language_family("C++17") == language_family("c++") == "c++"
    assert language_family("R") == "r"
    assert language_family("sos") is None and language_family(None) is None


def test_check_parameters_still_types_known_parameters():
    spec = NotebookParameters(
        path="t.ipynb",
        has_parameters_cell=True,
        parameters=[ParameterSpec(name="n", type="int")],
        language="python",
    )
    assert check_parameters(spec, {"n": "3"}) == ({"n": 3}, [])
    with pytest.raises(InvalidInput, match="expects int"):
        check_parameters(spec, {"n": "x" * 10_000})
