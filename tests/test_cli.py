"""The CLI end to end: through a real subprocess where the process is the point (exit status
and silence in a pipe or cron job, standard input and output), in-process (``invoke``, Typer's
CliRunner isolation) where it is not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from listclean.model import LC_COLUMNS

from .conftest import EXAMPLES, invoke, read_csv, run_cli


def test_example_default_paths(tmp_path: Path) -> None:
    src = tmp_path / "contacts.csv"
    shutil.copy(EXAMPLES / "contacts.csv", src)
    proc = run_cli("verify", str(src), "--offline")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""  # nothing on stderr in a pipe/cron job
    out = tmp_path / "contacts.verified.csv"
    original = read_csv(src)
    got = read_csv(out)
    assert len(got) == len(original)
    assert got[0] == original[0] + list(LC_COLUMNS)
    for want, have in zip(original[1:], got[1:], strict=True):
        assert have[: len(want)] == want
    # phones keep leading zeros; ids like 00001 stay text
    assert got[1][0] == "00001"
    report = json.loads((tmp_path / "contacts.verified.report.json").read_text())
    assert report["input"]["rows"] == report["output"]["rows"] == len(original) - 1
    assert sum(report["counts"]["status"].values()) == len(original) - 1
    import hashlib

    assert report["input"]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert report["output"]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert report["input"]["email_column"] == "Email Address"
    assert report["counts"]["reason"]["invalid_syntax"] > 0
    assert report["counts"]["flags"]["duplicate"] > 0
    assert report["counts"]["syntax_messages"]


def test_stdout_and_grep(tmp_path: Path) -> None:
    # a copy: the test must not depend on what a user's Quick start left in examples/ (#20)
    src = tmp_path / "contacts.csv"
    shutil.copy(EXAMPLES / "contacts.csv", src)
    proc = run_cli("verify", str(src), "-o", "-", "--offline")
    assert proc.returncode == 0
    lines = proc.stdout.decode().splitlines()
    assert any(",undeliverable," in line for line in lines)
    assert [p.name for p in tmp_path.iterdir()] == ["contacts.csv"]  # no files, no report


def test_stdin_plain_list(tmp_path: Path) -> None:
    data = b"ann@example.com\nbad@\n\nInfo@Example.com\nann@example.com\n"
    proc = run_cli("verify", "-", "-o", str(tmp_path / "clean.csv"), "--offline", stdin=data)
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(tmp_path / "clean.csv")
    assert rows[0][:2] == ["email", "lc_status"]
    assert [r[0] for r in rows[1:]] == [
        "ann@example.com",
        "bad@",
        "",
        "Info@Example.com",
        "ann@example.com",
    ]
    status = {r[0] + str(i): r[1] for i, r in enumerate(rows[1:])}
    assert status["bad@1"] == "undeliverable"
    last = rows[5]
    assert last[LC_COLUMNS.index("lc_duplicate_of") + 1] == "1"
    assert "duplicate" in last[LC_COLUMNS.index("lc_flags") + 1].split(";")
    assert "role" in rows[4][LC_COLUMNS.index("lc_flags") + 1]


def test_duplicates_by_normalized_address(tmp_path: Path) -> None:
    src = tmp_path / "d.csv"
    src.write_text(
        "name,email\na,ann@Example.com\nb, ann@example.COM \nc,Ann@example.com\n"
        "d,bob@example.com\ne,ann@example.com\n"
    )
    proc = invoke("verify", str(src), "-o", "-", "--offline", "--dedupe", "exact")
    rows = read_csv(proc.stdout)
    at = rows[0].index("lc_duplicate_of")
    dup = [r[at] for r in rows[1:]]
    # --dedupe exact: ann@example.com normalized (domain lower-cased, local part as typed)
    assert dup == ["", "1", "", "", "1"]
    # the default, casefold: the local part's case does not make another mailbox (#20)
    rows = read_csv(invoke("verify", str(src), "-o", "-", "--offline").stdout)
    assert [r[at] for r in rows[1:]] == ["", "1", "1", "", "1"]
    assert [r[4] for r in rows[1:]] == ["ann@example.com"] * 2 + [
        "Ann@example.com",
        "bob@example.com",
        "ann@example.com",
    ]


def test_semicolon_tab_pipe_detected(tmp_path: Path) -> None:
    for sep in (";", "\t", "|"):
        src = tmp_path / "s.csv"
        src.write_text(f"name{sep}phone{sep}mail\nAnn{sep}007{sep}ann@example.com\n")
        proc = invoke("verify", str(src), "-o", "-", "--offline")
        assert proc.returncode == 0, proc.stderr
        rows = read_csv(proc.stdout, sep)
        assert rows[1][:3] == ["Ann", "007", "ann@example.com"]
        assert rows[1][3] == "unknown"


def test_column_by_content_and_by_flag(tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    src.write_text("name,contact,other\nAnn,ann@example.com,not-an-address\nBob,bob@example.org,\n")
    proc = invoke("verify", str(src), "-o", "-", "--offline")
    rows = read_csv(proc.stdout)
    assert rows[1][5] == "ann@example.com"  # lc_normalized
    proc = invoke("verify", str(src), "-o", "-", "--offline", "--column", "OTHER")
    rows = read_csv(proc.stdout)
    assert rows[1][4] == "invalid_syntax"


def test_latin1_with_encoding_and_bom(tmp_path: Path) -> None:
    src = tmp_path / "l.csv"
    src.write_bytes("name,email\nJosé,jose@example.com\n".encode("latin-1"))
    proc = invoke("verify", str(src), "-o", "-", "--offline", "--encoding", "latin-1")
    assert proc.returncode == 0, proc.stderr
    assert read_csv(proc.stdout)[1][0] == "José"
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbfname,email\r\nAnn,ann@example.com\r\n")
    out = invoke("verify", str(bom), "-o", "-", "--offline").stdout
    assert out.startswith(b"\xef\xbb\xbf")  # kept for Excel (#20)
    rows = read_csv(out[3:])
    assert rows[0][0] == "name" and rows[1][:2] == ["Ann", "ann@example.com"]
    bomlist = tmp_path / "bomlist.txt"
    bomlist.write_bytes(b"\xef\xbb\xbfann@example.com\r\nbob@example.com\r\n")
    rows = read_csv(invoke("verify", str(bomlist), "-o", "-", "--offline").stdout[3:])
    assert [r[0] for r in rows] == ["email", "ann@example.com", "bob@example.com"]
    assert rows[1][1] == "unknown"


def test_reverify_replaces_lc_columns(tmp_path: Path) -> None:
    src = tmp_path / "a.csv"
    shutil.copy(EXAMPLES / "contacts.csv", src)
    first = tmp_path / "a.verified.csv"
    assert invoke("verify", str(src), "--offline").returncode == 0
    second = tmp_path / "again.csv"
    assert invoke("verify", str(first), "-o", str(second), "--offline").returncode == 0
    assert read_csv(second) == read_csv(first)


def test_help_for_every_option() -> None:
    proc = invoke("verify", "--help")
    assert proc.returncode == 0
    text = proc.stdout.decode()
    for option in (
        "--nameserver",
        "--smtp-port",
        "--helo",
        "--mail-from",
        "--allow-test-domains",
        "--allow-private-mx",
        "--offline",
        "--column",
        "--encoding",
        "--smtp-timeout",
        "--dns-timeout",
        "--greylist-delay",
        "--resume",
        "--delimiter",
        "--report",
        "--quiet",
        "--disposable-list",
        "--allow-list",
    ):
        assert option in text
    assert invoke("--version").stdout.decode().startswith("listclean ")


def test_usage_error_exit_2() -> None:
    proc = invoke("verify", "x.csv", "--no-such-flag")
    assert proc.returncode == 2


def test_no_value_placeholder_on_flags() -> None:
    """A flag takes no value, so its help shows none: `--help <bool>` invited `--help true`,
    which is rejected (#20 item 8). Every command and sub-command, flags included."""
    import contextlib

    from typer.testing import CliRunner

    from listclean.cli import command

    cmd = command()
    paths: list[list[str]] = [[]]
    for name, sub in cmd.commands.items():
        paths.append([name])
        paths.extend([name, inner] for inner in getattr(sub, "commands", {}))
    runner = CliRunner()
    for path in paths:
        # in-process, on the very command main() runs (CliRunner.invoke would rebuild it)
        with runner.isolation(env={"COLUMNS": "200"}) as (out, _err, _):
            with contextlib.suppress(SystemExit):
                cmd.main([*path, "--help"], prog_name="listclean")
            text = out.getvalue().decode()
        assert "--help" in text, path
        assert "<bool>" not in text, path
    assert len(paths) > 8  # verify, check, plan, config …, cache …, audit
