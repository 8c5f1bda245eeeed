"""The documentation: every ``*.md`` file the code names exists in the repository, and the
docs build into a site with MkDocs (``make docs``) with no broken link (``--strict``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# where code, configuration and build files live (the docs' own links are MkDocs' to check)
CODE = ["src", "stages", "tests", "benchmarks", "conf"]
FILES = ["dvc.yaml", "Makefile", "pyproject.toml", "params.yaml", ".ci/run"]
# a path ending in .md; not after "}" or "/" (``{out}/README.md`` is a file a stage writes)
MD_PATH = re.compile(r"(?<![\w/.}-])((?:\.\./)*[\w./-]*[\w-]\.md)\b")
# named in code but written by the pipeline, not kept in git: the report's pages
WRITTEN = {"out_dir/README.md": "the report stage's output folder (reports/ by default)"}
SELF = Path(__file__).resolve()  # this file's own examples are not references


def named_md_paths() -> dict[str, list[str]]:
    """Every ``something.md`` written in the code: the path -> the files that name it."""
    found: dict[str, list[str]] = {}
    sources = [p for d in CODE for p in (REPO / d).rglob("*") if p.suffix in {".py", ".yaml", ".yml", ".sh"}]
    sources += [REPO / f for f in FILES if (REPO / f).is_file()]
    for path in (p for p in sources if p.resolve() != SELF):
        for name in MD_PATH.findall(path.read_text(encoding="utf-8", errors="replace")):
            found.setdefault(name, []).append(str(path.relative_to(REPO)))
    return found


def resolves(name: str) -> bool:
    """A named .md exists in the repository: as written from its root, or inside docs/ or
    reports/ (a path that leaves the repository, ``../shared/SEEDS.md``, does not count)."""
    if name in WRITTEN:
        return True
    for base in ("", "docs", "reports"):
        path = (REPO / base / name).resolve()
        if path.is_relative_to(REPO) and path.is_file():
            return True
    return False


def test_the_regex_finds_what_code_writes():
    text = 'see docs/gpu.md, "README.md", (../x/SEEDS.md); not a.mdx, x.md5 or {out}/README.md'
    assert MD_PATH.findall(text) == ["docs/gpu.md", "README.md", "../x/SEEDS.md"]


def test_every_md_file_the_code_names_exists():
    named = named_md_paths()
    assert "docs/zoo.md" in named  # the scan sees the code's references
    missing = {name: files for name, files in named.items() if not resolves(name)}
    assert not missing, f"named in code but not in the repository: {missing}"


def test_docs_build_into_a_site_with_no_broken_link(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").is_file()
    built = {p.relative_to(tmp_path / "site").parts[0] for p in (tmp_path / "site").iterdir()}
    for page in (REPO / "docs").glob("*.md"):
        assert page.stem in built or page.name == "index.md", f"{page.name} was not built"
