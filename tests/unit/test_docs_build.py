"""docs/ builds with MkDocs in strict mode (as `make lint` builds it), and strict mode
refuses what would leave a reader stranded: a link to a missing page or heading, a
link MkDocs cannot resolve, and a page left out of the nav."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def build(root: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` of the ``mkdocs.yml`` under ``root`` into ``site``."""
    command = [sys.executable, "-m", "mkdocs", "build", "--strict"]
    command += ["--config-file", str(root / "mkdocs.yml"), "--site-dir", str(site)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


@pytest.fixture
def docs_copy(tmp_path: Path) -> Path:
    """A copy of ``mkdocs.yml`` and ``docs/``, free to break."""
    shutil.copy(REPO_ROOT / "mkdocs.yml", tmp_path)
    shutil.copytree(REPO_ROOT / "docs", tmp_path / "docs")
    return tmp_path


def test_the_docs_build_in_strict_mode(tmp_path: Path) -> None:
    result = build(REPO_ROOT, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "index.html").is_file()


@pytest.mark.parametrize(
    ("link", "warning"),
    [
        ("[a page](no-such-page.md)", "link 'no-such-page.md', but the target is not found"),
        ("[a heading](status.md#no-such-heading)", "does not contain an anchor '#no-such-heading'"),
        ("[a repository folder](../specs/)", "unrecognized relative link '../specs/'"),
    ],
    ids=["missing-page", "missing-anchor", "outside-docs"],
)
def test_a_broken_link_fails_the_build(docs_copy: Path, link: str, warning: str) -> None:
    index = docs_copy / "docs" / "index.md"
    index.write_text(f"{index.read_text()}\nSee {link}.\n")
    result = build(docs_copy, docs_copy / "site")
    assert result.returncode != 0
    assert "Doc file 'index.md' contains" in result.stderr
    assert warning in result.stderr


def test_a_page_missing_from_the_nav_fails_the_build(docs_copy: Path) -> None:
    (docs_copy / "docs" / "orphan.md").write_text("# Orphan\n\nNo page links here.\n")
    result = build(docs_copy, docs_copy / "site")
    assert result.returncode != 0
    assert 'are not included in the "nav" configuration:\n  - orphan.md' in result.stderr
