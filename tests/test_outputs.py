"""Everyday outputs: HTML report (in a real headless browser), split files, JSON lines, check."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import EXAMPLES, ROOT, read_csv, run_cli


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run must install it")
        pytest.skip("the browser test needs Debian's chromium (`apt-get install chromium`)")
    return path


def verify_example(tmp_path: Path, *extra: str) -> Path:
    src = tmp_path / "contacts.csv"
    shutil.copy(EXAMPLES / "contacts.csv", src)
    proc = run_cli("verify", str(src), "--offline", *extra)
    assert proc.returncode == 0, proc.stderr
    return src


def test_html_report_in_a_real_browser(tmp_path: Path) -> None:
    verify_example(tmp_path)
    html = tmp_path / "contacts.verified.report.html"
    report = json.loads((tmp_path / "contacts.verified.report.json").read_text())
    text = html.read_text()
    # self-contained: nothing to fetch when it is opened
    for needle in ("<script", "http://", "https://", "src=", "@import", "url("):
        assert needle not in text.replace("http://www.w3.org/2000/svg", ""), needle
    browser = chromium()
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr
    for status, count in report["counts"]["status"].items():
        assert f'id="count-{status}"><b>{count:,}</b>' in dom.stdout
    assert report["input"]["sha256"] in dom.stdout
    assert "<svg" in dom.stdout
    shot = tmp_path / "report.png"
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--window-size=1000,1400", html.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    for section in ("<h2>Reasons</h2>", "<h2>Flags</h2>", "<h2>Providers</h2>"):
        assert section in dom.stdout, section
    # kept as a test artifact, for a person to look at (test-artifacts/ is git-ignored)
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shutil.copy(shot, artifacts / "html-report.png")


def test_split_outputs(tmp_path: Path) -> None:
    src = verify_example(tmp_path, "--split", str(tmp_path / "split"))
    full = read_csv(tmp_path / "contacts.verified.csv")
    total = 0
    for status in ("deliverable", "risky", "undeliverable", "unknown"):
        rows = read_csv(tmp_path / "split" / f"{status}.csv")
        assert rows[0] == full[0]
        assert all(r[full[0].index("lc_status")] == status for r in rows[1:])
        assert rows[1:] == [r for r in full[1:] if r[full[0].index("lc_status")] == status]
        total += len(rows) - 1
    assert total == len(read_csv(src)) - 1


def test_jsonl_output(tmp_path: Path) -> None:
    src = verify_example(tmp_path, "--format", "jsonl")
    lines = (tmp_path / "contacts.verified.jsonl").read_text().splitlines()
    original = read_csv(src)
    assert len(lines) == len(original) - 1
    first = json.loads(lines[0])
    assert first["id"] == "00001" and first["Email Address"] == original[1][3]
    assert first["lc_status"] in ("deliverable", "risky", "undeliverable", "unknown")
    assert [json.loads(x)["notes"] for x in lines] == [r[6] for r in original[1:]]


def test_check_command() -> None:
    proc = run_cli("check", "ann@gmial.com", "bad@@x", "--offline", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert [r["email"] for r in rows] == ["ann@gmial.com", "bad@@x"]
    assert rows[0]["lc_suggestion"] == "ann@gmail.com"
    assert rows[1]["lc_reason"] == "invalid_syntax"


def test_every_command_and_option_has_help() -> None:
    import typer.main

    from listclean.cli import app

    group = typer.main.get_command(app)
    checked = []

    def walk(cmd: object, path: str) -> None:
        assert getattr(cmd, "help", None), f"{path} has no help text"
        for param in cmd.params:  # type: ignore[attr-defined]
            if getattr(param, "param_type_name", "") == "option" and param.name != "help":
                assert param.help, f"{path} {param.opts} has no help text"
                checked.append(f"{path} {param.opts[0]}")
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(group, "listclean")
    assert "listclean verify --nameserver" in checked and len(checked) > 40  # it did look
    for cmd in ("verify", "check", "audit", "cache"):
        assert run_cli(cmd, "--help").returncode == 0
