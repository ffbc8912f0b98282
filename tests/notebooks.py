"""Notebooks for tests, written as plain nbformat-4 JSON (no nbformat import needed)."""

from __future__ import annotations

import json
from pathlib import Path


def write_notebook(
    path: Path,
    cells: list[str],
    *,
    parameters: str | None = None,
    kernel: str = "python3",
) -> Path:
    """Write a notebook whose code cells are ``cells``, after a ``parameters`` cell if given."""
    sources = ([parameters] if parameters is not None else []) + cells
    nb_cells = []
    for index, source in enumerate(sources):
        tags = ["parameters"] if parameters is not None and index == 0 else []
        nb_cells.append(
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell-{index}",
                "metadata": {"tags": tags},
                "outputs": [],
                "source": source,
            }
        )
    nb = {
        "cells": nb_cells,
        "metadata": {
            "kernelspec": {"name": kernel, "display_name": kernel, "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path


def output_text(path: Path) -> str:
    """All stream and result text of an executed notebook, joined."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    parts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append("".join(out["text"]) if isinstance(out["text"], list) else out["text"])
            elif "data" in out:
                text = out["data"].get("text/plain", "")
                parts.append("".join(text) if isinstance(text, list) else text)
    return "\n".join(parts)
