"""The type gate's configuration ([tool.mypy] in pyproject.toml) says what it means.

mypy itself runs in `make lint`; these tests keep its configuration honest: the strict packages
exist (a renamed package would quietly leave the strict list), and they get every flag of
`mypy --strict` (`strict = true` cannot be used in an overrides section, where it turns strict
mode on for every module, so the flags are listed one by one and a mypy upgrade may add one).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "platform"
STRICT_PACKAGES = {
    "dataplatform.settings",
    "dataplatform.transform.*",
    "dataplatform.storage.*",
    "dataplatform.quality.*",
}
# flags mypy accepts only for the whole run, not per module
GLOBAL_ONLY = {"warn_redundant_casts"}


@pytest.fixture(scope="module")
def config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]


def _strict_override(config: dict) -> dict:
    found = [o for o in config["overrides"] if set(o["module"]) >= STRICT_PACKAGES]
    assert len(found) == 1, "one overrides section lists the strict packages"
    return found[0]


def test_the_strict_packages_exist(config):
    """Every name in the strict list is a module or package (a `*` inside stands for any package,
    a trailing `.*` for the package and all below it): a name that matches nothing checks nothing."""
    for module in _strict_override(config)["module"]:
        pattern = module.removesuffix(".*").replace(".", "/")
        found = [*SOURCE.glob(f"{pattern}.py"), *SOURCE.glob(f"{pattern}/__init__.py")]
        if module.endswith(".*"):
            found = [path for path in found if path.name == "__init__.py"]
        assert found, f"{module}: no such {'package' if module.endswith('.*') else 'module'} under platform/"


def test_no_overrides_section_sets_strict(config):
    assert all("strict" not in o for o in config["overrides"])


def test_the_strict_packages_get_every_flag_of_mypy_strict(config):
    from mypy.main import define_options

    _, _, strict_flags = define_options()
    override = _strict_override(config)
    for dest, value in strict_flags:
        if dest in GLOBAL_ONLY:
            assert config.get(dest) is value, f"[tool.mypy] needs {dest} = {str(value).lower()}"
            continue
        # a flag mypy stores inverted is spelled no_<flag> in the configuration file
        key, wanted = (dest, value) if dest in override or value else (f"no_{dest}", True)
        assert override.get(key) is wanted, f"the strict packages need {key} = {str(wanted).lower()}"
