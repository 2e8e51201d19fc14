"""Imports between myapp's packages flow one way, down the layers of docs/architecture.md.

Every ``import`` and ``from ... import`` in myapp/ is read with ``ast``, those
inside functions included (a lazy import is still a dependency). Run this file
(``.venv/bin/python tests/test_layering.py``) to print the package-level graph.
"""

import ast
import collections
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "myapp"


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path):
    """The myapp modules ``path`` imports, anywhere in it, as absolute names."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            # ``from . import x`` may name a module x: count it as base.x.
            names = [base] if node.module else [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        yield from (name for name in names if name.split(".")[0] == "myapp")


def unit(module):
    """The package (or top-level module) of myapp that ``module`` belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "myapp"


def import_edges():
    """(importing unit, imported unit) → the module-level imports behind it."""
    edges = collections.defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        source = module_name(path)
        for target in imported_modules(path):
            if unit(source) != unit(target):
                edges[unit(source), unit(target)].append(f"{source} -> {target}")
    return edges


#: The units of myapp that work with the database but know nothing of the domain.
BELOW_THE_DOMAIN = {"settings", "models", "observability", "db"}
DOMAIN = {"auth", "users", "articles", "comments"}


def test_the_database_layer_imports_no_domain_package():
    back_arrows = [
        why for (source, target), why in import_edges().items()
        if source in BELOW_THE_DOMAIN and target in DOMAIN
    ]
    assert back_arrows == []


if __name__ == "__main__":
    for (source, target), why in sorted(import_edges().items()):
        print(f"{source} -> {target}: {', '.join(why)}")
