"""What the repository itself must never contain."""

import os
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
