"""What the repository itself must never contain."""

import ast
import os
import pathlib
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: A package registry's address: PyPI's, or any index's ``.../simple``.
REGISTRY_ADDRESS = r"pypi\.org|https?://[^[:space:]]*/simple"


def test_no_package_registry_address_is_written_anywhere():
    """Installs and ``make lock`` use the machine's own configuration (a mirror
    works); an address written here would send them around it."""
    if shutil.which("git") is None or not os.path.exists(os.path.join(ROOT, ".git")):
        pytest.skip("not a git checkout")
    found = subprocess.run(
        ["git", "grep", "-n", "-I", "-E", REGISTRY_ADDRESS],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert found.returncode in (0, 1), found.stderr
    assert found.stdout == ""


#: The registry's string keys: the database lifecycle's (myapp.db), the
#: cookiecutter's ``dbsession_factory`` among them. Every other part keeps what
#: it builds at start-up as a typed attribute (``registry.app_settings``,
#: ``registry.auth`` read through ``myapp.auth.get_auth``...).
REGISTRY_KEYS = {"engines", "dbsession_factory", "dbsession_write_bind", "dbsession_read_bind",
                 "read_router"}


def registry_keys(root):
    """(key, where) for each ``x.registry[<string>]``, ``registry[<string>]`` or ``x["registry"][<string>]``."""
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)):
                continue
            target = node.value
            if isinstance(target, ast.Attribute):
                name = target.attr
            elif isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
                name = target.slice.value  # env["registry"][...]
            else:
                name = getattr(target, "id", None)
            if name == "registry" and isinstance(node.slice.value, str):
                yield node.slice.value, f"{path.relative_to(root.parent)}:{node.lineno}"


def test_the_registry_has_no_untyped_keys_beyond_the_databases():
    found = {key: where for key, where in registry_keys(pathlib.Path(ROOT, "myapp"))}
    assert set(found) - REGISTRY_KEYS == set(), found


#: "No module grows past about 300 lines": past it, split the module by what its parts do.
MAX_MODULE_LINES = 300


def test_no_module_of_the_application_is_over_300_lines():
    long = {
        str(path.relative_to(ROOT)): count
        for path in pathlib.Path(ROOT, "myapp").rglob("*.py")
        if (count := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_the_layout_of_docs_architecture_md_is_the_tree():
    """Every path its Layout table names exists, and every package and top-level
    module of myapp/ is named there (the table is how a newcomer finds things)."""
    text = pathlib.Path(ROOT, "docs", "architecture.md").read_text()
    layout = text[text.index("## Layout"):text.index("## Where does X hook in")]
    named = set(re.findall(r"`((?:myapp|tests|scripts|alembic|bench)/[^`]*|requirements\.lock)`", layout))
    assert {path for path in named if not os.path.exists(os.path.join(ROOT, path))} == set()
    myapp = pathlib.Path(ROOT, "myapp")
    parts = {f"myapp/{path.name}/" if path.is_dir() else f"myapp/{path.name}"
             for path in myapp.iterdir() if path.suffix == ".py" or (path / "__init__.py").exists()}
    assert {part for part in parts if not any(path.startswith(part) for path in named)} == set()
