"""The shape of the code: imports point backwards along the pipeline; only the CLI prints."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "generator"

# Earlier stages first. A module may import only modules listed before it.
PIPELINE = [
    "diagnostics", "version", "config", "model", "slugs", "frontmatter", "markup", "schema",
    "parallel", "locks", "collector", "cache", "loader", "grouping", "ranking", "site", "plan",
    "urls", "theme", "render", "feeds", "sitemap", "fingerprint", "writer",
    "builder", "watch", "server", "preview", "scaffold", "cli", "__init__", "__main__",
]  # fmt: skip


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("generator"):
            found.add(node.module.removeprefix("generator").lstrip(".") or "__init__")
        elif isinstance(node, ast.Import):
            found.update(
                a.name.split(".", 1)[1] for a in node.names if a.name.startswith("generator.")
            )
    return found


def test_every_module_has_a_place_in_the_pipeline() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert modules == set(PIPELINE)


def test_imports_point_backwards() -> None:
    wrong = []
    for module in PIPELINE:
        for imported in _imports(PACKAGE / f"{module}.py"):
            if imported != "__init__" and PIPELINE.index(imported) >= PIPELINE.index(module):
                wrong.append(f"{module} imports {imported}")
            if imported == "__init__" and module not in ("cli", "__main__"):
                wrong.append(f"{module} imports the package root")
    assert wrong == []


def test_only_the_cli_prints() -> None:
    printing = [
        p.name
        for p in PACKAGE.glob("*.py")
        if p.stem != "cli"
        and any(
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Name)
            and n.func.id in ("print", "exit")
            for n in ast.walk(ast.parse(p.read_text("utf-8")))
        )
    ]
    assert printing == []


def test_every_module_says_what_it_owns() -> None:
    assert [
        p.name for p in PACKAGE.glob("*.py") if not ast.get_docstring(ast.parse(p.read_text()))
    ] == []
