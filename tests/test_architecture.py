"""The import contracts in pyproject.toml ([tool.importlinter]) hold: layers, no cycles,
the fake OpenAI server kept out of the product. Checked by import-linter, not by hand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Every contract ran (a contract dropped from the file would otherwise pass silently).
    assert "Contracts: 4 kept, 0 broken." in result.stdout, result.stdout


def test_no_module_is_over_600_lines() -> None:
    # Small modules with one job each (STYLE.md): a module past this has two jobs.
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / "src" / "vivavoce").rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert too_long == {}
