"""Input examples named the way a user types them in ``%dataops publish clf --example X[:5]``:
a variable, a slice or an index of one, ``.iloc``/``.loc``/``.values`` and ``.head(n)``. Read
without ``eval``: anything else (a call of something else, arithmetic) is refused, naming what
is allowed."""

from __future__ import annotations

import ast
from typing import Any

from ..errors import InvalidInput

_ATTRIBUTES = frozenset({"iloc", "loc", "values", "T"})
_METHODS = frozenset({"head", "tail", "sample", "to_numpy", "copy"})
_HINT = "Name a variable, optionally sliced: X_test, X_test[:5], df.iloc[:10], df.head(5)."


def _refuse(text: str) -> InvalidInput:
    return InvalidInput(f"The example {text!r} is not a variable or a slice of one.", hint=_HINT)


def _constant(node: ast.AST, text: str) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | str | float | type(None)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _constant(node.operand, text)
        if isinstance(value, int | float):
            return -value
    if isinstance(node, ast.List | ast.Tuple):
        items = [_constant(e, text) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    raise _refuse(text)


def _index(node: ast.AST, text: str) -> Any:
    if isinstance(node, ast.Slice):
        return slice(
            None if node.lower is None else _constant(node.lower, text),
            None if node.upper is None else _constant(node.upper, text),
            None if node.step is None else _constant(node.step, text),
        )
    if isinstance(node, ast.Tuple):
        return tuple(_index(e, text) for e in node.elts)
    return _constant(node, text)


def resolve(text: str, namespace: dict[str, Any]) -> Any:
    """The value ``text`` names in ``namespace``; InvalidInput when it names none."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise _refuse(text) from None

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            if node.id not in namespace:
                raise InvalidInput(
                    f"The example names {node.id!r}, which the kernel does not define.",
                    hint="Run the cell that defines it first, or name another variable.",
                )
            return namespace[node.id]
        if isinstance(node, ast.Attribute) and node.attr in _ATTRIBUTES:
            return getattr(walk(node.value), node.attr)
        if isinstance(node, ast.Subscript):
            return walk(node.value)[_index(node.slice, text)]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _METHODS
            and not node.keywords
            and len(node.args) <= 1
        ):
            args = [_constant(a, text) for a in node.args]
            return getattr(walk(node.func.value), node.func.attr)(*args)
        raise _refuse(text)

    try:
        return walk(tree.body)
    except InvalidInput:
        raise
    except Exception as exc:
        raise InvalidInput(
            f"The example {text!r} cannot be taken: {type(exc).__name__}: {exc}", hint=_HINT
        ) from None
