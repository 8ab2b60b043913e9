"""The packages' layer order: each imports only from the layers below it, so a package can be
used, tested and loaded without the ones above (the generator without the transforms, the
transforms without Dagster), and only the Dagster layer imports dagster."""

from __future__ import annotations

import ast
from pathlib import Path

import dataplatform

PACKAGE = Path(dataplatform.__file__).parent

# bottom first; a layer may import from its own and every lower one
LAYERS: list[set[str]] = [
    {"settings", "currency", "encoding", "filelock"},
    {"engine"},
    {"storage"},
    {"assetkeys"},  # above storage: a key maps to the stored table it names
    {"synthetic"},  # the generators' building blocks, knowing no domain
    {"quality"},
    {"transform"},
    {"domains"},  # a package per domain: its generator (on synthetic) and pipeline (on transform)
    {"generate"},  # the generate command's library, over the domains' generators
    {"ingest"},
    {"datasets"},
    {"models"},
    {"defs"},
    {"api"},
    {"cli"},
    {"definitions"},
]
DAGSTER_LAYERS = {"defs", "definitions"}


def _part(path: Path) -> str:
    """The top-level package (or module) of the platform a source file belongs to."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _runtime_imports(tree: ast.Module, package: str) -> list[tuple[int, str]]:
    """(line, module) of every import that runs: those under `if TYPE_CHECKING:` only name types
    for the type checker, and a relative import is resolved against `package`."""
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                module = f"{package}.{module}" if module else package
            found.append((node.lineno, module))
    return found


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def _layer_of(part: str) -> int:
    for index, layer in enumerate(LAYERS):
        if part in layer:
            return index
    raise AssertionError(f"{part!r} is in no layer: add it to LAYERS where it belongs")


def test_every_package_is_in_a_layer() -> None:
    for source in _sources():
        _layer_of(_part(source))


def test_no_package_imports_from_a_layer_above_it() -> None:
    upward = []
    for source in _sources():
        part = _part(source)
        package = ".".join(("dataplatform", *source.relative_to(PACKAGE).parent.parts))
        for line, module in _runtime_imports(ast.parse(source.read_text()), package):
            names = module.split(".")
            if names[0] == "dataplatform" and len(names) > 1 and _layer_of(names[1]) > _layer_of(part):
                upward.append(f"{source.relative_to(PACKAGE)}:{line} imports {module}")
    assert upward == [], "imports from a higher layer:\n" + "\n".join(upward)


def test_only_the_dagster_layer_imports_dagster() -> None:
    outside = []
    for source in _sources():
        if _part(source) in DAGSTER_LAYERS:
            continue
        for line, module in _runtime_imports(ast.parse(source.read_text()), "dataplatform"):
            if module.split(".")[0] == "dagster" or module.startswith("dagster_"):
                outside.append(f"{source.relative_to(PACKAGE)}:{line} imports {module}")
    assert outside == [], "dagster imported outside defs/ and definitions.py:\n" + "\n".join(outside)


def test_the_check_sees_an_upward_import() -> None:
    """The rule is not vacuous: an import of the Dagster layer from storage is found."""
    tree = ast.parse("import os\nfrom dataplatform.defs import build_definitions\n")
    modules = [module for _, module in _runtime_imports(tree, "dataplatform.storage")]
    assert modules == ["os", "dataplatform.defs"]
    assert _layer_of("defs") > _layer_of("storage")
    typed = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import dagster\n")
    assert [m for _, m in _runtime_imports(typed, "dataplatform")] == ["typing"]
