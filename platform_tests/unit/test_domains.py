"""The domain registry: every package under `dataplatform/domains/` is a domain, found without a
list, and declaring one costs no heavy import (each step of the code location discovers them)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import dataplatform.domains
from dataplatform.domains import domain, domains, generated
from dataplatform.settings import Settings

FOLDER = Path(dataplatform.domains.__file__).parent
PACKAGES = sorted(p.parent.name for p in FOLDER.glob("*/__init__.py"))


def test_every_package_is_a_domain_named_as_its_package_and_cross_domain_gold_comes_last() -> None:
    assert sorted(domains()) == PACKAGES
    assert list(domains()) == [*sorted(generated()), *sorted(set(PACKAGES) - set(generated()))]


def test_a_generated_domain_builds_its_generator_and_names_its_volumes_and_scaled_knobs() -> None:
    settings = Settings()
    for spec in generated().values():
        volumes = spec.volumes(settings)
        assert set(spec.scaled) <= set(type(volumes).model_fields), spec.name
        assert spec.master_tables and spec.daily_tables, spec.name
        assert callable(spec.generator_for(settings).master), spec.name


def test_an_unknown_or_generator_less_domain_is_refused_with_the_known_ones() -> None:
    known = ", ".join(sorted(generated()))
    for name in ("nope", *(set(domains()) - set(generated()))):
        with pytest.raises(ValueError, match=f"unknown domain '{name}'; known: {known}$"):
            domain(name)


@pytest.mark.parametrize("package", PACKAGES)
def test_declaring_a_domain_imports_nothing_heavy(package: str) -> None:
    """Only the factories' bodies import the generator (numpy, pyarrow) and the pipeline (DuckDB)."""
    tree = ast.parse((FOLDER / package / "__init__.py").read_text())
    top = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    modules = [a.name for n in top if isinstance(n, ast.Import) for a in n.names]
    modules += [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
    assert set(modules) <= {"__future__", "typing", "dataplatform.domains", "dataplatform.settings"}
