"""Attack 12: values added this session that reach a socket, a file path or a terminal.

- Proxy URLs and route rules (they reach the wire to the proxy and the reports): control
  characters, socks5h, junk are usage errors; a password is never echoed, never kept.
- An untrusted ./listclean.toml cannot route the probes through a proxy of its choosing.
- `plan` on a terminal: a hostile file name or MX name cannot inject escape sequences or Rich
  markup.
- A workbook's formula-looking cell stays text in the workbook listclean writes.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console

from listclean.cli import _plan_table

from ..conftest import run_cli
from .helpers import one_line_error

SECRET = "pw-Secret-42"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--proxy", f"socks5://u:{SECRET}@127.0.0.1:1080\r\nRCPT TO:<x@y.z>"),
        ("--proxy", f"socks5h://u:{SECRET}@127.0.0.1:1080"),
        ("--proxy", f"socks4://u:{SECRET}@127.0.0.1:1080"),
        ("--proxy", f"socks5://u:{SECRET}@127.0.0.1:1080/path"),
        ("--route", f"outlook.com socks5://u:{SECRET}@127.0.0.1:1080"),
        ("--route", f"=socks5://u:{SECRET}@127.0.0.1:1080"),
        ("--source-address", "127.0.0.1\nevil"),
    ],
)
def test_hostile_egress_values_are_usage_errors(option: str, value: str, _home: Path) -> None:
    proc = run_cli("verify", "x.csv", option, value)
    assert proc.returncode == 2
    line = one_line_error(proc)
    assert SECRET not in line
    assert not (_home / "audit.jsonl").exists()


def test_untrusted_config_cannot_set_a_proxy(tmp_path: Path) -> None:
    (tmp_path / "listclean.toml").write_text(
        f'proxy = ["socks5://u:{SECRET}@127.0.0.1:1080"]\nroute = ["com=direct"]\n'
    )
    shown = json.loads(run_cli("config", "--json", cwd=tmp_path).stdout)
    assert {"proxy", "route"} <= {i["option"] for i in shown["ignored"]}
    options = {o["option"]: o for o in shown["options"]}
    assert options["--proxy"]["source"] == "default"


def test_plan_table_escapes_hostile_names() -> None:
    plan = {
        "input": "list[link=https://evil.example/]x[/link]\x1b]8;;https://evil.example/\x07.csv",
        "top_mx": [{"mx": "[bold red]mx[/]\x1b[2J", "addresses": 3}],
    }
    console = Console(record=True, width=200, force_terminal=True)
    console.print(_plan_table(plan))
    out = console.export_text(styles=True, clear=False)
    assert "\x1b]8;" not in out and "\x1b[2J" not in out
    assert "[link=https://evil.example/]" in console.export_text()


def test_workbook_formula_cells_stay_text(tmp_path: Path) -> None:
    src = tmp_path / "l.csv"
    src.write_text('email,note\nann@example.com,"=HYPERLINK(""https://evil.example"",""x"")"\n')
    out = tmp_path / "o.xlsx"
    assert run_cli("verify", str(src), "--offline", "-o", str(out)).returncode == 0
    cells = pl.read_excel(out, engine="calamine", has_header=False, infer_schema_length=0)
    assert cells.row(1)[1] == '=HYPERLINK("https://evil.example","x")'  # a string, not a formula
