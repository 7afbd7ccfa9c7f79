"""The demo's data ships in the package: a plain clone (or an installed wheel) needs nothing
beside it, and the bundled copy is the shared GeoQuery data unchanged."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import tomllib

from symgen.demo import BUNDLED, demo_data_dir
from symgen.errors import MissingResource
from tests.conftest import ROOT, SHARED

FILES = ("geography.sqlite", "seed_10.jsonl", "dev.jsonl")


def test_bundled_data_is_found_with_nothing_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYMGEN_SHARED_DATA", raising=False)
    assert demo_data_dir() == BUNDLED
    assert BUNDLED.is_relative_to(ROOT / "symgen")
    assert all((BUNDLED / name).is_file() for name in FILES)
    assert (BUNDLED / "README.md").read_text().count("Apache-2.0") == 1  # licence note kept


def test_explicit_data_wins_and_a_bad_one_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(MissingResource, match=str(tmp_path)):
        demo_data_dir(str(tmp_path))


@pytest.mark.skipif(not (SHARED / "geoquery").is_dir(), reason="no ../shared/data beside the clone")
@pytest.mark.parametrize("name", FILES)
def test_bundled_copy_equals_the_shared_data(name: str) -> None:
    def digest(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()

    assert digest(BUNDLED / name) == digest(SHARED / "geoquery" / name)


def test_the_package_declares_the_data() -> None:
    """setuptools' package-data lists them, so a wheel carries them too."""
    with (ROOT / "pyproject.toml").open("rb") as fh:
        package_data = tomllib.load(fh)["tool"]["setuptools"]["package-data"]["symgen"]
    assert "data/geoquery/*" in package_data
