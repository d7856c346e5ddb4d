"""Attack 9: terminal and spreadsheet injection through the columns listclean writes.

lc_normalized and lc_suggestion come from the list, lc_mx from DNS, lc_smtp_reply from a mail
server. Every one is neutralised the same way: no control characters (ESC/OSC sequences,
CR/LF), no leading = + - @ (OWASP CSV injection). What is shown on a terminal (`check`'s
table, -v) is escaped for Rich: a server's "[link=...]" markup is shown as text, never made a
link.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import read_csv, run_cli
from ..dnsserver import FakeDNS
from ..smtpserver import Lab, Raw
from .helpers import verify_net, zone_mx

IP = "127.0.7.21"
FORMULA = ("=", "+", "-", "@")
REPLY = "550 5.1.1 [link=https://evil.example/]click me[/link] \x1b]8;;https://evil.example/\x07x\x1b]8;;\x07 =HYPERLINK(1) unknown"


def _no_injection(value: str) -> None:
    assert not value.startswith(FORMULA), value
    assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in value), repr(value)


def test_offline_columns_from_the_list(tmp_path: Path) -> None:
    src = tmp_path / "l.csv"
    cells = [
        "=1+2@example.com",
        "+cmd@example.com",
        "-x@example.com",
        "=a@gmial.com",
        "-b@hotmial.com",
    ]
    src.write_text("email\n" + "\n".join(cells) + "\n")
    for fmt in ("csv", "jsonl"):
        proc = run_cli("verify", str(src), "--offline", "-o", "-", "--format", fmt)
        assert proc.returncode == 0, proc.stderr
        if fmt == "csv":
            rows = read_csv(proc.stdout)
            records = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
        else:
            records = [json.loads(x) for x in proc.stdout.decode().splitlines()]
        assert [r["email"] for r in records] == cells  # the input, value for value
        for record in records:
            for name, value in record.items():
                if name.startswith("lc_"):
                    _no_injection(value)
        assert records[0]["lc_normalized"] == "'=1+2@example.com"
        assert records[3]["lc_suggestion"].startswith("'=a@gmail.com")


@pytest.fixture(scope="module")
def env() -> Iterator[tuple[FakeDNS, Lab]]:
    dns = FakeDNS(zone_mx("evil.test", "mx.evil.test", IP))
    lab = Lab([IP])
    lab.raw(IP, Raw(rcpt=lambda a: REPLY))
    yield dns, lab
    lab.close()
    dns.close()


def test_server_reply_in_csv_and_verbose_log(tmp_path: Path, env: tuple[FakeDNS, Lab]) -> None:
    dns, lab = env
    src = tmp_path / "l.csv"
    src.write_text("email\nann@evil.test\n")
    proc = verify_net(src, dns.address, lab.port, "-v", "--show-addresses")
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(proc.stdout)
    for value in rows[1][1:]:
        _no_injection(value)
    assert "\x1b" not in proc.stderr.decode()


def test_check_table_on_a_terminal(tmp_path: Path, env: tuple[FakeDNS, Lab]) -> None:
    """`check` prints a Rich table on a TTY: run it on a real pseudo-terminal."""
    dns, lab = env
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "listclean",
            "check",
            "ann@evil.test",
            "=x@evil.test",
            "--nameserver",
            dns.address,
            "--helo",
            "probe.lab.test",
            "--smtp-port",
            str(lab.port),
            "--allow-private-mx",
            "--allow-test-domains",
            "--smtp-timeout",
            "5",
        ],
        stdout=slave,
        stderr=slave,
        env={**os.environ, "COLUMNS": "400", "TERM": "xterm-256color"},
    )
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    proc.wait(60)
    os.close(master)
    text = out.decode("utf-8", "replace")
    assert proc.returncode == 0, text
    assert "\x1b]8;" not in text  # no OSC 8 hyperlink, from the reply or from Rich markup
    assert "evil.example" in text and "[link=" in text  # shown as plain text
    assert "\x07" not in text
