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


#: myapp's packages and top-level modules, lowest first (docs/architecture.md,
#: "Layers"). A unit imports only units of the layers below its own: never one
#: above (a back-arrow), never one beside it, so the graph has no cycle.
LAYERS = (
    {"settings", "methods", "models", "renderers"},  # no import of myapp at all
    {"observability"},  # access log, request ids, metrics
    {"db"},  # the database lifecycle; engines feed the pool metrics
    {"edge"},  # the tween chain, errors, validation, idempotency
    {"auth"},  # passwords, tokens, claims, the security policy
    {"users"},
    {"articles"},  # authors are users
    {"comments"},  # on articles
    {"health", "openapi", "demo"},  # read every domain's schemas or services
    {"myapp", "scripts", "server", "pshell"},  # entry points
)


def layer_of(name):
    return next(number for number, layer in enumerate(LAYERS) if name in layer)


def units():
    return {unit(module_name(path)) for path in PACKAGE.rglob("*.py")}


def test_every_package_has_a_declared_layer():
    declared = set().union(*LAYERS)
    assert units() - declared == set(), "add the new package to LAYERS and docs/architecture.md"
    assert declared - units() == set(), "a package is gone: drop it from LAYERS"


def test_imports_flow_down_the_layers_only():
    wrong = {
        f"{source} -> {target}": why for (source, target), why in import_edges().items()
        if layer_of(target) >= layer_of(source)
    }
    assert wrong == {}


def test_the_database_layer_imports_no_domain_package():
    domain = {"auth", "users", "articles", "comments"}
    assert layer_of("db") < min(layer_of(name) for name in domain)
    back_arrows = [
        why for (source, target), why in import_edges().items()
        if layer_of(source) <= layer_of("db") and target in domain
    ]
    assert back_arrows == []


if __name__ == "__main__":
    for (source, target), why in sorted(import_edges().items()):
        print(f"{source} -> {target}: {', '.join(why)}")
