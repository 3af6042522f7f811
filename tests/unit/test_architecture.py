"""The house's rooms are written down twice, and both must match the tree: the import contracts
(.importlinter, checked by lint-imports in the test command) and the README's architecture map."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "shared"


def rooms() -> set[str]:
    """Every package and top-level module of shared/ (data/ holds no code)."""
    packages = {p.name for p in SHARED.iterdir() if (p / "__init__.py").exists()}
    modules = {p.stem for p in SHARED.glob("*.py") if p.name != "__init__.py"}
    return packages | modules


def test_every_room_of_shared_is_in_a_layer_of_the_import_contracts():
    contracts = configparser.ConfigParser()
    contracts.read(ROOT / ".importlinter")
    layers = contracts["importlinter:contract:layers"]["layers"]
    named = {part.strip().removeprefix("shared.") for line in layers.split("\n") for part in line.split("|")}
    assert rooms() <= named, f"add {rooms() - named} to a layer in .importlinter"


def test_every_room_of_shared_is_on_the_readme_map():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Architecture", 1)[1].split("```", 2)[1]
    listed = {
        line.split()[0].rstrip("/").removesuffix(".py")
        for line in block.splitlines()
        if line.startswith("  ")
    }
    assert rooms() <= listed, f"describe {rooms() - listed} in the README's architecture section"
