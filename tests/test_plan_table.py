"""`listclean plan` on a terminal is a table, not raw Python dicts (#20 item 6, the rendering)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

from rich.console import Console

from listclean.cli import _plan_table
from listclean.plan import make_plan
from listclean.settings import Settings

from .conftest import EXAMPLES, run_cli


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
