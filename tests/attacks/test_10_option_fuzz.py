"""Attack 10: bad option values, from flags, the environment or a config file.

Every option is declared once with its validation, shared by verify, check and plan. Fuzzed
values end in exit 0, 1 or 2 with at most one line on stderr: never a traceback, never a
hang (NaN and infinite timeouts are refused).
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listclean import cli

from ..conftest import run_cli
from .helpers import one_line_error

NUMERIC = ["--dns-timeout", "--smtp-timeout", "--greylist-delay", "--smtp-port"]
VERIFY_ONLY = ["--smtp-concurrency", "--smtp-per-host", "--cache-ttl"]
TEXT = ["--helo", "--mail-from", "--nameserver", "--column", "--delimiter", "--encoding"]
VALUES = st.one_of(
    st.sampled_from(
        [
            "nan",
            "inf",
            "-inf",
            "-1",
            "0",
            "1e309",
            "1e-9",
            "99999999999",
            "",
            " ",
            "127.0.0.1:",
            "[::1]:x",
            "::1",
            "a\r\nDATA",
            "x@",
            "@x",
            "9" * 400,
            "0x10",
            "1_000",
            "\u0660",
        ]
    ),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(2**70), 2**70).map(str),
)


def _run_in_process(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    out = io.StringIO()
    old = sys.argv
    sys.argv = ["listclean", *argv]
    code = 0
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old
    return code, err.getvalue()


@pytest.fixture(scope="module")
def listfile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "l.csv"
    path.write_text("email\nann@example.com\n")
    return path


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    command=st.sampled_from(["verify", "check", "plan"]),
    options=st.lists(
        st.tuples(st.sampled_from(NUMERIC + VERIFY_ONLY + TEXT), VALUES), min_size=1, max_size=3
    ),
)
def test_fuzzed_options_never_trace(
    command: str, options: list[tuple[str, str]], listfile: Path, tmp_path: Path
) -> None:
    argv = [command, "ann@example.com" if command == "check" else str(listfile), "--offline"]
    if command == "verify":
        argv += ["-o", str(tmp_path / "o.csv")]
    for name, value in options:
        argv += [f"{name}={value}"]
    code, err = _run_in_process(argv)
    assert code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in err, err
    assert len([ln for ln in err.splitlines() if ln.strip()]) <= 1, err


SHARED_BAD = [
    ["--nameserver", "127.0.0.1:"],
    ["--smtp-timeout", "nan"],
    ["--smtp-timeout", "inf"],
    ["--dns-timeout", "-1"],
    ["--smtp-port", "70000"],
]
PROBING_BAD = [["--greylist-delay", "nan"], ["--helo", "bad host"]]  # plan sends no RCPT


@pytest.mark.parametrize(
    ("command", "args"),
    [(c, a) for c in ("verify", "check", "plan") for a in SHARED_BAD]
    + [(c, a) for c in ("verify", "check") for a in PROBING_BAD],
)
def test_each_command_refuses_the_same_way(command: str, args: list[str], tmp_path: Path) -> None:
    target = "a@example.com" if command == "check" else str(tmp_path / "missing.csv")
    proc = run_cli(command, target, "--offline", *args)
    assert proc.returncode == 2
    assert args[0] in one_line_error(proc)


def test_bad_values_from_env_and_config(tmp_path: Path, _home: Path) -> None:
    (_home / "listclean.toml").write_text('smtp_timeout = "nan"\n')
    proc = run_cli("check", "a@example.com", "--offline")
    assert proc.returncode == 2 and "--smtp-timeout" in one_line_error(proc)
    (_home / "listclean.toml").unlink()
    proc = run_cli("plan", "x.csv", env={"LISTCLEAN_DNS_TIMEOUT": "inf"})
    assert proc.returncode == 2 and "--dns-timeout" in one_line_error(proc)
