"""Which scorelab files a stage script can import, read from the source (no import runs).

dvc.yaml lists each stage's code dependencies by hand. A list that is too broad reruns
stages for edits that cannot change their outputs (an edit of ``utils.py`` retrained
every variant); one that is too narrow lets DVC call a stage up to date after an edit
that changes it. ``tests/test_stage_deps.py`` compares every list with what this module
finds.

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
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "scorelab"


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
        for module in imported_modules(path, src):
            sibling = path.parent / f"{module}.py"  # stages/_here.py beside a stage script
            if "." not in module and not path.is_relative_to(src) and sibling.is_file():
                todo.append(sibling.resolve())
            for name in _with_parents(module):
                f = module_file(name, src)
                if f is not None and f.resolve() not in seen:
                    todo.append(f.resolve())
    return seen
