"""Which module may import which (docs/design.md, "Layers"): checked on the source, so a change
that puts an import in the wrong place fails here instead of in a reviewer's head."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "src" / "listclean"


def _imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(p for p in parts if p != "__init__") or "listclean"
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                name = node.module
                if name == "listclean":
                    found.update(a.name for a in node.names if not a.name.startswith("_"))
                elif name.startswith("listclean."):
                    found.add(name.removeprefix("listclean."))
                else:
                    found.add("<" + name.split(".")[0] + ">")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("listclean."):
                        found.add(alias.name.removeprefix("listclean."))
                    else:
                        found.add("<" + alias.name.split(".")[0] + ">")
        graph[module] = found
    return graph


GRAPH = _imports()

# (modules matching this prefix, may not import modules matching any of these prefixes)
RULES = [
    ("checks", ["io", "probes", "network", "pipeline", "cli", "cache", "store", "engines", "fastpath", "api"]),
    ("io", ["checks", "probes", "network", "pipeline", "cli", "cache", "fastpath", "engines", "api"]),
    ("probes", ["io", "network", "pipeline", "cli", "cache", "store", "fastpath", "engines", "api"]),
    ("fastpath", ["io", "probes", "network", "pipeline", "cli", "cache", "store", "engines", "api"]),
    ("network", ["io", "pipeline", "cli", "engines", "api", "plan"]),
    ("report", ["io", "probes", "network", "pipeline", "cli", "cache", "store", "engines"]),
    ("model", ["checks", "io", "probes", "network", "pipeline", "cli", "cache", "store"]),
]  # fmt: skip


def _matches(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.mark.parametrize(("layer", "forbidden"), RULES, ids=[r[0] for r in RULES])
def test_a_layer_does_not_import_the_layers_above_it(layer: str, forbidden: list[str]) -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if _matches(module, layer)
        for target in targets
        if any(_matches(target, f) for f in forbidden)
    )
    assert wrong == []


def test_only_the_cli_knows_typer_and_only_clients_use_the_pipeline() -> None:
    typer_users = sorted(m for m, t in GRAPH.items() if "<typer>" in t)
    assert typer_users == ["cli"]
    pipeline_users = sorted(m for m, t in GRAPH.items() if "pipeline" in t)
    assert pipeline_users == ["api", "cli", "engines.rayengine", "plan"]


def test_the_rules_see_the_modules() -> None:
    """The graph is not empty by accident (a wrong root would make every rule pass)."""
    assert {"pipeline", "network", "io.source", "checks.syntax", "probes.smtp"} <= set(GRAPH)
    assert "network" in GRAPH["pipeline"]
