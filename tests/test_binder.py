"""Binder readers run the notebooks with the same versions the book is built and tested with."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from skinregen.cli import BINDER_EXTRAS, distribution_key, runtime_requirements

ROOT = Path(__file__).resolve().parents[1]


def pins(path: Path) -> dict[str, str]:
    result = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            result[distribution_key(name.strip())] = version.strip()
    return result


def test_binder_pins_what_the_notebooks_import_at_the_build_versions():
    build, binder = pins(ROOT / "requirements.txt"), pins(ROOT / "binder" / "requirements.txt")
    needed = runtime_requirements()
    assert {"pandas", "plotly", "ipywidgets", "bibtexparser", "statsmodels", "frictionless"} <= set(needed)
    missing = [name for name in needed if name in build and name not in binder]
    assert missing == [], f"binder/requirements.txt lacks {missing}: run `make lock`"
    different = {name: (binder[name], build[name]) for name in binder if name in build and binder[name] != build[name]}
    assert different == {}, f"binder/ pins differ from requirements.txt (binder, build): {different}"
    unknown = sorted(set(binder) - set(build) - {distribution_key(n) for n in BINDER_EXTRAS})
    assert unknown == [], f"binder/requirements.txt pins packages the build does not: {unknown}"


def test_binder_uses_the_build_python_and_installs_the_package():
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert runtime == f"python-{sys.version_info.major}.{sys.version_info.minor}"
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install" in post_build and "-e ." in post_build
    # --no-build-isolation needs setuptools and wheel in the image, which Binder's does not have
    assert "--no-build-isolation" not in post_build


def test_launch_button_opens_jupyterlab_on_binder_and_the_repository_url_is_in_one_place():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["launch_buttons"]["notebook_interface"] == "jupyterlab"
    assert config["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    url = config["repository"]["url"]
    places = [path for path in ROOT.glob("*.*") if path.is_file() and url in path.read_text(errors="ignore")]
    assert [path.name for path in places] == ["_config.yml"]


def test_binder_renders_myst_in_jupyterlab():
    assert "jupyterlab-myst" in pins(ROOT / "binder" / "requirements.txt")
