"""`listclean plan` on a terminal is a table, not raw Python dicts (#20 item 6, the rendering)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from listclean.cli import _plan_table
from listclean.plan import make_plan
from listclean.settings import Settings

from .conftest import EXAMPLES, run_cli
from .test_fastpath import CELL


def test_plan_renders_as_a_table(tmp_path: Path) -> None:
    src = tmp_path / "contacts.csv"
    shutil.copy(EXAMPLES / "contacts.csv", src)
    settings = dataclasses.replace(Settings(), offline=True, home=tmp_path / "h")
    plan = make_plan(str(src), settings)
    console = Console(record=True, width=120, color_system=None)
    console.print(_plan_table(plan))
    text = console.export_text()
    assert "rows" in text and str(plan["rows"]) in text
    assert "{'" not in text and "[{" not in text  # no Python reprs
    # a pipe still gets JSON
    proc = run_cli("plan", str(src), "--offline")
    assert proc.returncode == 0 and json.loads(proc.stdout)["rows"] == plan["rows"]


@settings(max_examples=60, deadline=None)
@given(
    cells=st.lists(
        CELL.filter(lambda c: not any(ch in c for ch in "\n\r\x00")), min_size=1, max_size=30
    )
)
def test_plan_counts_match_the_per_row_definition(
    tmp_path_factory: pytest.TempPathFactory, cells: list[str]
) -> None:
    """plan's offline pass (the vectorised fastpath) counts what the per-row path counts."""
    import csv as _csv

    from listclean.checks.verdict import needs_dns
    from listclean.model import Reason
    from listclean.pipeline import Memo, build_checker
    from listclean.plan import make_plan
    from listclean.settings import Settings

    tmp = tmp_path_factory.mktemp("plan")
    src = tmp / "in.csv"
    with src.open("w", newline="", encoding="utf-8") as out:
        writer = _csv.writer(out)
        writer.writerow(["id", "email"])
        writer.writerows([[str(i), c] for i, c in enumerate(cells)])
    settings = Settings(offline=True, home=tmp / "home")
    memo = Memo(build_checker(settings))
    unique: set[str] = set()
    reasons: Counter[str] = Counter()
    domains: set[str] = set()
    for cell in cells:
        result = memo.get(cell)
        if not result.normalized or result.normalized in unique:
            continue
        unique.add(result.normalized)
        reasons[result.reason.value] += 1
        if needs_dns(result) and result.reason is Reason.NOT_PROBED:
            domains.add(result.domain)
    plan = make_plan(str(src), settings)
    assert plan["rows"] == len(cells)
    assert plan["unique_addresses"] == len(unique)
    assert plan["offline_verdicts"] == dict(reasons)
    assert plan["domains"] == len(domains)
