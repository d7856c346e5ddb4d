"""The public library API (#16): listclean.annotate / check / verify_file / Settings."""

from __future__ import annotations

import doctest
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import listclean
import listclean.api
from listclean.errors import InputError
from listclean.model import LC_COLUMNS

from .conftest import read_csv, run_cli


def test_doctests() -> None:
    for module in (listclean, listclean.api):
        failed, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert tried and not failed, module.__name__


def test_public_names() -> None:
    assert {"Settings", "annotate", "check", "verify_file", "Report", "Result"} <= set(
        listclean.__all__
    )


CELLS = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "ann@example.com",
                "Ann@Example.com",
                "bob@gmial.com",
                "x@",
                "",
                " c@d.org ",
                "info@example.org",
            ]
        ),
        st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=12),
    ),
    min_size=1,
    max_size=30,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(CELLS)
def test_annotate_equals_the_file_run(tmp_path: Path, cells: list[str]) -> None:
    """The library and the CLI give the same columns for the same addresses."""
    cells = [c.replace("\n", " ").replace("\r", " ").replace('"', "") for c in cells]
    frame = pl.DataFrame({"email": cells, "n": [str(i) for i in range(len(cells))]})
    src = tmp_path / "l.csv"
    frame.write_csv(src)
    got = listclean.annotate(frame, settings=listclean.Settings(offline=True))
    assert got.columns == ["email", "n", *LC_COLUMNS]
    report = listclean.verify_file(
        src, tmp_path / "o.csv", settings=listclean.Settings(offline=True, home=tmp_path / "h")
    )
    rows = read_csv(tmp_path / "o.csv")
    assert [list(r) for r in got.rows()] == [[*r[:2], *r[2:]] for r in rows[1:]] or rows[0][
        0
    ] != "email"
    assert report.rows == len(cells)
    assert sum(report.counts.values()) == len(cells)


def test_check_and_annotate_agree() -> None:
    addresses = ["ann@example.com", "ann@example.com", "nope", "info@example.org"]
    results = listclean.check(addresses, settings=listclean.Settings(offline=True))
    frame = listclean.annotate(
        pl.DataFrame({"email": addresses}), settings=listclean.Settings(offline=True)
    )
    assert [r.reason.value for r in results] == frame.get_column("lc_reason").to_list()
    assert [r.status.value for r in results] == frame.get_column("lc_status").to_list()
    assert results[0] == results[1]  # a duplicate has the same verdict
    assert frame.get_column("lc_duplicate_of").to_list() == ["", "1", "", ""]
    assert "role" in [f.value for f in results[3].flags]


def test_annotate_replaces_its_own_columns_and_refuses_a_missing_column() -> None:
    once = listclean.annotate(
        pl.DataFrame({"email": ["a@b.com"]}), settings=listclean.Settings(offline=True)
    )
    twice = listclean.annotate(once, settings=listclean.Settings(offline=True))
    assert twice.equals(once)
    with pytest.raises(InputError):
        listclean.annotate(
            pl.DataFrame({"mail": ["a@b.com"]}), settings=listclean.Settings(offline=True)
        )


def test_check_cli_uses_no_temporary_file_and_no_audit(tmp_path: Path, _home: Path) -> None:
    proc = run_cli("check", "ann@example.com", "x@", "--offline", "--json")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == 2 and '"lc_reason": "invalid_syntax"' in lines[1]
    assert not (_home / "audit.jsonl").exists()


def test_commands_declare_shared_options_alike() -> None:
    """One declaration per option: verify, check and plan agree on every option they share."""
    from listclean import cli

    commands = cli._commands()
    tables = {
        name: {p.name: p for p in cli._options(commands[name])}
        for name in ("verify", "check", "plan")
    }
    shared = set(tables["verify"]) & set(tables["check"]) | set(tables["verify"]) & set(
        tables["plan"]
    )
    assert {
        "nameserver",
        "smtp_port",
        "smtp_timeout",
        "dns_timeout",
        "offline",
        "allow_private_mx",
    } <= shared
    for option in shared:
        params = [t[option] for t in tables.values() if option in t]
        first = params[0]
        for other in params[1:]:
            assert other.opts == first.opts, option
            assert other.help == first.help, option  # the same declaration, not a look-alike
            assert (other.callback is None) == (first.callback is None), option
            if option != "smtp_timeout":  # plan's banner check uses a shorter default, on purpose
                assert other.default == first.default, option
