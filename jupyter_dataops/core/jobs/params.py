"""Notebook parameters: find the ``parameters`` cell, infer each parameter's type and default, and
check a job's values against them before anything is stored.

Python parameter cells are read with :mod:`ast` (exact, fast, no papermill import); a Python cell
that does not parse (magics) falls back to papermill's own inspector. papermill cannot inspect other
languages, so their parameters are passed as given. Names are checked as the notebook's language
will read them, so that a value never fails with a SyntaxError in the kernel or slips past a type
check.
"""

from __future__ import annotations

import ast
import io
import json
import keyword
import math
import re
import reprlib
import tokenize
import unicodedata
from typing import Any

from ..errors import InvalidInput
from ..notebooks import (
    cell_source,
    depth_exceeds,
    notebook_kernel,
    notebook_languages,
    parameters_cell_index,
    read_notebook,
)
from .models import NotebookParameters, ParameterSpec, ParameterType

__all__ = [
    "MAX_VALUE_DEPTH",
    "PAPERMILL_TRANSLATORS",
    "check_kernel_language",
    "check_parameters",
    "coerce_value",
    "inspect_notebook",
    "inspect_python_cell",
    "language_family",
    "read_notebook",  # the service imports it from here; its home is core/notebooks.py
    "translator_language",
]

#: Deepest nesting accepted in one parameter value. papermill writes a value as nested literals in
#: the kernel's language, and Python's parser refuses more than 200 nested brackets.
MAX_VALUE_DEPTH = 100

#: papermill's translator registry (``papermill/translators.py``): kernel names and languages,
#: looked up in that order, and the language it writes parameters in. A test checks it against
#: papermill's own.
PAPERMILL_TRANSLATORS: dict[str, str] = {
    "python": "python",
    "R": "r",
    "scala": "scala",
    "julia": "julia",
    "matlab": "matlab",
    ".net-csharp": "c#",
    ".net-fsharp": "f#",
    ".net-powershell": "powershell",
    "pysparkkernel": "python",
    "sparkkernel": "scala",
    "sparkrkernel": "r",
    "bash": "bash",
}

# Language names found in kernel specs and notebook metadata, lower-cased and without a trailing
# version ("python3", "C++17"), mapped to one name per language. A language not listed here is
# unknown and never refused: a false refusal would block a notebook that runs.
_LANGUAGES: dict[str, str] = {
    **dict.fromkeys(["python", "ipython", "py"], "python"),
    "r": "r",
    "julia": "julia",
    "scala": "scala",
    "java": "java",
    "kotlin": "kotlin",
    "groovy": "groovy",
    **dict.fromkeys(["javascript", "js", "node", "nodejs"], "javascript"),
    **dict.fromkeys(["typescript", "ts"], "typescript"),
    **dict.fromkeys(["c++", "cpp", "xcpp"], "c++"),
    "c": "c",
    **dict.fromkeys(["c#", "csharp"], "c#"),
    **dict.fromkeys(["f#", "fsharp"], "f#"),
    **dict.fromkeys(["powershell", "pwsh"], "powershell"),
    **dict.fromkeys(["go", "golang"], "go"),
    "rust": "rust",
    "ruby": "ruby",
    "haskell": "haskell",
    "ocaml": "ocaml",
    **dict.fromkeys(["bash", "sh"], "bash"),
    **dict.fromkeys(["matlab", "octave"], "matlab"),  # the Octave kernel runs MATLAB code
    "sas": "sas",
    "stata": "stata",
    "scheme": "scheme",
    "clojure": "clojure",
    "lua": "lua",
    "perl": "perl",
    "php": "php",
    **dict.fromkeys(["wolfram language", "mathematica"], "wolfram"),
    "maxima": "maxima",
    "q": "q",
    "tcl": "tcl",
}
_VERSION_SUFFIX = re.compile(r"[\s\d.]+$")

_PY_TYPES: dict[type, ParameterType] = {
    bool: "bool",
    int: "int",
    float: "float",
    str: "str",
    list: "list",
    tuple: "list",
    dict: "dict",
    type(None): "none",
}
_ANNOTATIONS: dict[str, ParameterType] = {
    "int": "int",
    "float": "float",
    "bool": "bool",
    "str": "str",
    "list": "list",
    "List": "list",
    "tuple": "list",
    "Tuple": "list",
    "dict": "dict",
    "Dict": "dict",
    "None": "none",
    "NoneType": "none",
}


def language_family(language: str | None) -> str | None:
    """One name per language (``"Python 3"``, ``"python3"``, ``"ipython"`` -> ``"python"``), or None
    for a language this module does not know."""
    if not language:
        return None
    return _LANGUAGES.get(_VERSION_SUFFIX.sub("", language.strip().lower()))


def translator_language(kernel_name: str | None, language: str | None) -> str | None:
    """The language papermill writes parameters in for this notebook (its ``find_translator``: the
    kernel name first, then the language), or None if papermill has no translator for it."""
    return PAPERMILL_TRANSLATORS.get(kernel_name or "") or PAPERMILL_TRANSLATORS.get(language or "")


def _uses_python(kernel_name: str | None, language: str | None) -> bool:
    """Whether the parameters will be written as Python: the translator is Python's, or the
    notebook names no language we know (it then runs on the default kernel, python3)."""
    translated = translator_language(kernel_name, language)
    if translated is not None:
        return translated == "python"
    return language_family(language) in (None, "python")


def no_parameters_cell_warning(display_path: str) -> str:
    """What papermill does with parameters for a notebook without a ``parameters`` cell."""
    return (
        f"{display_path} has no cell tagged 'parameters': the parameters are injected in a new "
        "cell at the top, as papermill does. Tag the cell that sets the defaults 'parameters' to "
        "have them inserted after it."
    )


def _no_translator_warning(display_path: str, language: str) -> str:
    return (
        f"papermill cannot write parameters in {language}, the language of {display_path}: a job "
        "with parameters will fail. Run it without parameters."
    )


def _comments_by_line(source: str) -> dict[int, str]:
    comments: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = tok.string.lstrip("#").strip()
    except (tokenize.TokenError, SyntaxError):  # IndentationError is a SyntaxError
        pass
    return comments


def _annotation_type(node: ast.expr | None) -> ParameterType | None:
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        name = node.value
    elif isinstance(node, ast.Subscript):
        return _annotation_type(node.value)
    elif isinstance(node, (ast.Name, ast.Attribute)):
        name = node.id if isinstance(node, ast.Name) else node.attr
    else:
        return "any"
    return _ANNOTATIONS.get(name.split("[")[0], "any")


def _typed_default(default: Any) -> tuple[Any, ParameterType]:
    """A literal default as JSON can carry it, and the type it implies."""
    inferred = _PY_TYPES.get(type(default), "any")
    if isinstance(default, tuple):
        default = list(default)
    if isinstance(default, float) and not math.isfinite(default):
        default = None  # JSON cannot carry nan/inf; default_repr still shows it
    elif not isinstance(default, (bool, int, float, str, list, dict, type(None))):
        default = None  # sets, bytes, complex: shown in default_repr only
    return default, inferred


def _literal_default(node: ast.expr | str) -> tuple[Any, ParameterType]:
    """The default written as ``node`` (or source text), or (None, "any") if not a literal."""
    try:
        return _typed_default(ast.literal_eval(node))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None, "any"


def inspect_python_cell(source: str) -> list[ParameterSpec] | None:
    """Parameters of a Python cell, or None if it is not plain Python (e.g. has magics)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # ValueError: null bytes (Python 3.11); RecursionError/MemoryError: absurd nesting.
        return None
    comments = _comments_by_line(source)
    specs: list[ParameterSpec] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value, annotation = stmt.targets[0], stmt.value, None
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target, value, annotation = stmt.target, stmt.value, stmt.annotation
        else:
            continue
        if not isinstance(target, ast.Name):
            continue
        default_repr = ast.get_source_segment(source, value) or ""
        default, inferred = _literal_default(value)
        comment = comments.get(stmt.end_lineno or stmt.lineno, "")
        type_: ParameterType = _annotation_type(annotation) or inferred
        if comment.startswith("type:"):
            declared, _, comment = comment[5:].strip().partition(" ")
            type_ = _ANNOTATIONS.get(declared, type_)
            comment = comment.strip()
        if type_ == "none":
            type_ = "any"  # `x = None` says nothing about what x will hold
        specs.append(
            ParameterSpec(
                name=target.id, type=type_, default=default, default_repr=default_repr, help=comment
            )
        )
    return specs


def _inspect_with_papermill(source: str) -> list[ParameterSpec]:
    """A Python parameters cell that does not parse, read by papermill's line-based inspector."""
    from papermill.translators import PythonTranslator

    try:
        found = PythonTranslator.inspect({"source": source})
    except Exception:  # its contract is to ignore what it cannot read; hold it to that
        return []
    specs = []
    for p in found:
        default, inferred = _literal_default(p.default)
        declared = _ANNOTATIONS.get((p.inferred_type_name or "").strip())  # "None": not declared
        type_ = declared if declared not in (None, "none") else inferred
        specs.append(
            ParameterSpec(
                name=p.name,
                type="any" if type_ in (None, "none") else type_,
                default=default,
                default_repr=p.default,
                help=p.help,
            )
        )
    return specs


def inspect_notebook(nb: dict[str, Any], display_path: str) -> NotebookParameters:
    """What the run dialog shows for a notebook read by ``read_notebook``: its parameters (names,
    types, defaults, help), kernel, language, and what the user should know before running it."""
    index = parameters_cell_index(nb)
    kernel, language = notebook_kernel(nb)
    python = _uses_python(kernel, language)
    specs: list[ParameterSpec] = []
    warnings: list[str] = []
    if index < 0:
        warnings.append(no_parameters_cell_warning(display_path))
    elif python:
        source = cell_source(nb["cells"][index])
        parsed = inspect_python_cell(source)
        specs = parsed if parsed is not None else _inspect_with_papermill(source)
    else:
        # papermill implements inspection for Python only (Translator.inspect raises otherwise).
        warnings.append(
            f"The parameters cell of {display_path} is in {language or kernel}, which this server "
            "cannot read: parameters are passed as given, without type checks."
        )
    if language and translator_language(kernel, language) is None and not python:
        warnings.append(_no_translator_warning(display_path, language))
    return NotebookParameters(
        path=display_path,
        has_parameters_cell=index >= 0,
        parameters=specs,
        kernel_name=kernel,
        language=language,
        cell_count=sum(1 for c in nb["cells"] if c.get("cell_type") == "code"),
        warnings=warnings,
    )


def check_kernel_language(
    nb: dict[str, Any],
    kernel_name: str,
    kernel_language: str | None,
    *,
    display_path: str | None = None,
) -> None:
    """Refuse running a notebook on a kernel of another language (an R notebook on python3).

    Only a clear mismatch is refused: when the kernel's language or the notebook's is missing or
    unknown, nothing is. A notebook naming two languages (``language_info`` and ``kernelspec``)
    runs on a kernel that speaks either.
    """
    kernel_family = language_family(kernel_language)
    if kernel_family is None:
        return
    written = [(lang, language_family(lang)) for lang in notebook_languages(nb)]
    known = [(lang, family) for lang, family in written if family is not None]
    if not known or any(family == kernel_family for _, family in known):
        return
    language = known[0][0]
    raise InvalidInput(
        f"{display_path or 'The notebook'} is written in {language}, but kernel {kernel_name!r} "
        f"runs {kernel_language}.",
        hint=f"Choose a kernel for {language} with --kernel-name or the run dialog's kernel field.",
        kernel_name=kernel_name,
        notebook_language=language,
    )


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _literal(text: str) -> Any:
    """Read a CLI string as papermill's ``-p`` does, plus JSON/Python literals (lists, dicts)."""
    for parse in (json.loads, ast.literal_eval):
        try:
            value = parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, (set, frozenset, complex, bytes)):
            return text  # not JSON: keep what the user typed
        return value
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    return text


def coerce_value(spec: ParameterSpec, value: Any) -> Any:
    """Return ``value`` as the parameter's type, or raise InvalidInput naming the fix."""

    def bad() -> InvalidInput:
        return InvalidInput(
            f"Parameter {spec.name!r} expects {spec.type} "
            f"(default {spec.default_repr or spec.default!r}), got {_shown(value)}.",
            hint=f"Give {spec.name} a value of type {spec.type}.",
            parameter=spec.name,
        )

    kind = spec.type
    if kind == "str":
        if isinstance(value, str):
            return value
        raise bad()
    if isinstance(value, str):
        stripped = value.strip()
        if kind == "bool":
            if stripped.lower() in _TRUE:
                return True
            if stripped.lower() in _FALSE:
                return False
            raise bad()
        value = _literal(stripped)
        if kind == "any":
            return value
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise bad()
    if kind == "int":
        if isinstance(value, bool):
            raise bad()
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise bad()
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad()
        return float(value)
    if kind == "list":
        if isinstance(value, (list, tuple)):
            return list(value)
        raise bad()
    if kind == "dict":
        if isinstance(value, dict):
            return value
        raise bad()
    return value  # any


def check_parameters(
    spec: NotebookParameters, values: dict[str, Any], *, max_value_bytes: int = 1_000_000
) -> tuple[dict[str, Any], list[str]]:
    """Coerce ``values`` to the notebook's parameter types; returns them with warnings.

    As papermill does, a name the parameters cell does not define is passed with a warning, and a
    notebook without a parameters cell gets them in a new cell at the top (also with a warning).
    Names must be names in the notebook's language; each value must be JSON, at most
    ``max_value_bytes`` once encoded and at most MAX_VALUE_DEPTH levels deep.
    """
    if not isinstance(values, dict):
        raise InvalidInput("parameters must be an object of name: value pairs.")
    python = _uses_python(spec.kernel_name, spec.language)
    specs = {p.name: p for p in spec.parameters}
    result: dict[str, Any] = {}
    warnings: list[str] = []
    if values and not spec.has_parameters_cell:
        warnings.append(no_parameters_cell_warning(spec.path))
    language = spec.language
    if values and language and not python and not translator_language(spec.kernel_name, language):
        warnings.append(_no_translator_warning(spec.path, language))
    for name, value in values.items():
        _check_name(name, python)
        _check_value(name, value, max_value_bytes)  # before parsing a string: bounds the work
        declared = specs.get(name)
        if declared is None:
            if spec.has_parameters_cell:
                warnings.append(
                    f"Parameter {name!r} is not defined in the parameters cell of {spec.path}; "
                    "it is passed anyway."
                )
            result[name] = _literal(value.strip()) if isinstance(value, str) else value
            if isinstance(value, str) and not isinstance(result[name], (int, float, bool)):
                result[name] = value  # keep strings as the user typed them
        else:
            result[name] = coerce_value(declared, value)
        _check_value(name, result[name], max_value_bytes)
    return result, warnings


def _shown(value: Any) -> str:
    """``repr(value)`` cut short, for messages about values a client may have made huge."""
    short = reprlib.Repr()
    short.maxstring = short.maxother = 80
    short.maxlevel = 3
    return short.repr(value)


def _check_name(name: Any, python: bool) -> None:
    """Refuse a name the notebook's language would not read as that very name."""
    if not isinstance(name, str) or not name.isidentifier():
        raise InvalidInput(
            f"{_shown(name)} is not a valid parameter name.",
            hint="Use letters, digits and underscores, not starting with a digit.",
            parameter=str(name)[:200],
        )
    if not python:
        return  # papermill's translators write the name as given; the language checks the rest
    normal = unicodedata.normalize("NFKC", name)
    if normal != name:
        # Python reads identifiers in NFKC form: "ｘ" sets x, past x's type check.
        fix = (
            "Rename the parameter." if keyword.iskeyword(normal) else f"Use {normal!r} as the name."
        )
        raise InvalidInput(
            f"Parameter name {name!r} is read by Python as {normal!r}.", hint=fix, parameter=name
        )
    if keyword.iskeyword(name):
        raise InvalidInput(
            f"{name!r} is a Python keyword, so it cannot be a parameter name (the job would fail "
            "with a SyntaxError).",
            hint="Rename the variable in the parameters cell and pass the new name.",
            parameter=name,
        )


def _check_value(name: str, value: Any, limit: int) -> None:
    """Refuse a value that is not JSON, nests too deeply, or is larger than ``limit`` as JSON."""
    if depth_exceeds(value, MAX_VALUE_DEPTH):
        raise InvalidInput(
            f"Parameter {name!r} is nested more than {MAX_VALUE_DEPTH} levels deep.",
            hint="Pass a flatter value, or write the data to a file and pass its path.",
            parameter=name,
        )
    try:
        encoded = json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError (lone surrogates) is a ValueError
        raise InvalidInput(
            f"Parameter {name!r} cannot be stored: {_reason(exc)}.",
            hint="Use JSON values: text, numbers, true/false, null, lists and objects.",
            parameter=name,
        ) from None
    if len(encoded) > limit:
        raise InvalidInput(
            f"Parameter {name!r} is {len(encoded):,} bytes as JSON, more than the limit of "
            f"{limit:,} bytes for one value.",
            hint="Pass large data as a file path and read the file in the notebook.",
            parameter=name,
        )


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeEncodeError):
        return "it contains text that is not valid Unicode (a lone surrogate)"
    return str(exc)
