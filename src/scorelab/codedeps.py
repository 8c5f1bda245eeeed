"""Each stage's code, derived from its imports: the ``code`` stage's fingerprints.

Why: DVC rewrites dvc.lock after every stage, in pure Python, and the time grows with the
lock. When every stage listed the ~25 source files it imports, 3,183 of the lock's path
entries (two thirds of its 19,000 lines) were those files, and DVC spent about 3.7 s a
stage on the lock (docs/dvc.md). Now one stage, ``code``, depends on ``src/scorelab`` and
``stages`` as two folders and writes, for every stage script, model, trainer and codec,
a small file listing the MD5 of each repository file importing it can run (its import
closure, read from the source: no import runs). A stage depends on the two or three of
those files that make up its code. So:

- editing a module reruns ``code`` (a second) and then exactly the stages whose
  closure holds that module: their fingerprint changed, nobody else's did;
- :data:`NOT_DEPS` (how a stage runs as a process: ``process.py``, ``stages/_here.py``)
  are in no fingerprint, so editing them reruns no stage but ``code``;
- before a repro, ``dvc status`` shows an edit as "code changed" only; which stages it
  reaches shows once ``code`` has run (``dvc repro -s code`` then ``dvc status``).

``tests/test_stage_deps.py`` checks every stage's fingerprints against its own
reading of what the stage imports, registry lookups included.

Rules, chosen to over- rather than under-count:

- every ``import``/``from ... import`` anywhere in a file counts, including the ones
  inside functions (lazy imports run when the function does), but not the ones under
  ``if TYPE_CHECKING:`` (they never run);
- importing ``scorelab.a.b`` runs ``scorelab/__init__.py`` and ``scorelab/a/__init__.py``
  first, so those count too;
- ``from scorelab.a import b`` counts ``scorelab/a/b.py`` when that file exists.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout, for an editable install
SRC = ROOT / "src"
PACKAGE = "scorelab"

# Imported by stages, never part of a fingerprint: they decide how a stage runs as a
# process (dies with DVC, prints errors, waits in OpenMP, finds its src/), not what it writes.
NOT_DEPS = {
    "src/scorelab/process.py": "process handling (dying with DVC, error lines, OpenMP waits)",
    "stages/_here.py": "puts this checkout's src/ first on sys.path",
}
# Folders of the registries: a stage names its variant's model and trainer and its
# dataset's codec by file name (scorelab/lazy.py), so each file gets its own fingerprint.
UNITS = ("models", "training", "codecs")
ALL_CODECS = "all_codecs"  # sample/evaluate/judge: DVC cannot name a variant's dataset's codec


def module_file(module: str, src: Path = SRC) -> Path | None:
    """``scorelab.a.b`` -> ``src/scorelab/a/b.py`` or ``src/scorelab/a/b/__init__.py``."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = src.joinpath(*parts)
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _module_name(path: Path, src: Path) -> str:
    rel = path.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_modules(path: Path, src: Path = SRC) -> set[str]:
    """Every module name ``path`` imports (absolute; relative imports resolved), with each
    imported name of a ``from`` import as a candidate submodule."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    inside = path.is_relative_to(src)
    here = _module_name(path, src) if inside else ""
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".") if package else []
                anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


@functools.lru_cache(maxsize=4096)
def _imports_cached(path: Path, src: Path, mtime_ns: int, size: int) -> frozenset[str]:
    """:func:`imported_modules`, parsed once per file version (52 closures share most files)."""
    return frozenset(imported_modules(path, src))


def _with_parents(module: str) -> Iterable[str]:
    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        yield ".".join(parts[:i])


def closure(scripts: Iterable[Path], src: Path = SRC) -> set[Path]:
    """The scorelab source files that importing ``scripts`` can run (the scripts included
    when they live in the repository)."""
    todo = [Path(s).resolve() for s in scripts]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        stat = path.stat()
        for module in _imports_cached(path, src, stat.st_mtime_ns, stat.st_size):
            sibling = path.parent / f"{module}.py"  # stages/_here.py beside a stage script
            if "." not in module and not path.is_relative_to(src) and sibling.is_file():
                todo.append(sibling.resolve())
            for name in _with_parents(module):
                f = module_file(name, src)
                if f is not None and f.resolve() not in seen:
                    todo.append(f.resolve())
    return seen


def fingerprint(roots: Iterable[Path], root: Path = ROOT) -> str:
    """``md5  path`` lines, sorted by path, of every file in the closure of ``roots``
    except :data:`NOT_DEPS`; paths relative to ``root``."""
    import hashlib

    files = sorted(str(p.relative_to(root)) for p in closure(roots, root / "src"))
    lines = [f"{hashlib.md5((root / f).read_bytes()).hexdigest()}  {f}" for f in files if f not in NOT_DEPS]
    return "\n".join(lines) + "\n"


def fingerprint_roots(root: Path = ROOT) -> dict[str, list[Path]]:
    """``{relative fingerprint path: the files whose closure it covers}``: ``stages/<s>.txt``
    per stage script, ``<unit>/<name>.txt`` per model, trainer and codec file, and
    ``all_codecs.txt``."""
    src = root / "src" / PACKAGE
    out = {
        f"stages/{p.stem}.txt": [p]
        for p in sorted((root / "stages").glob("*.py"))
        if p.name not in ("_here.py", "code.py")
    }
    for unit in UNITS:
        for p in sorted((src / unit).glob("*.py")):
            if p.name != "__init__.py":
                out[f"{unit}/{p.stem}.txt"] = [p]
    out[f"{ALL_CODECS}.txt"] = [p for p in sorted((src / "codecs").glob("*.py")) if p.name != "__init__.py"]
    return out


def write_fingerprints(out: Path, root: Path = ROOT) -> int:
    """Write every fingerprint under ``out`` (replaced as a whole); return how many."""
    from scorelab.utils import atomic_dir

    roots = fingerprint_roots(root)
    with atomic_dir(out) as tmp:
        for rel, files in roots.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(fingerprint(files, root))
    return len(roots)
