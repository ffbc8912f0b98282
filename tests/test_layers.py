"""The walls between layers are checked by a machine (import-linter, contracts in pyproject.toml):
the core imports no adapter, web server, IPython, kernel or SQL code; backends and the store know
no adapter and not each other."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(root), "PATH": str(lint.parent)},
    )


def test_the_project_keeps_its_import_contracts():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("core/errors.py", "import tornado", "core is plain Python"),
        ("core/jobs/service.py", "from ...cli import main", "Adapters over services"),
        ("store/jobs.py", "from ..backends import files", "know nothing of each other"),
    ],
)
def test_a_broken_wall_fails_the_check(tmp_path, module, line, contract):
    shutil.copytree(REPO / "jupyter_dataops", tmp_path / "jupyter_dataops")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "jupyter_dataops" / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert contract in result.stdout
