"""tests/__init__.py imports every test module: Odoo's own test runner only runs
the modules the tests package imports (pytest finds them by their file name)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def imported_modules(init: Path) -> set[str]:
    """The modules ``from . import x`` brings in, in the file ``init``."""
    tree = ast.parse(init.read_text(encoding="utf-8"))
    return {
        alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module is None and node.level == 1
        for alias in node.names
    }


def test_tests_package_imports_every_test_module():
    modules = {path.stem for path in TESTS.glob("test_*.py")}
    assert modules, "no test module found"
    missing = modules - imported_modules(TESTS / "__init__.py")
    assert not missing, f"tests/__init__.py does not import {sorted(missing)}"
