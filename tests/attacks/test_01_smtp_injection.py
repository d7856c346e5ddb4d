"""Attack 1: SMTP command injection through --helo / --mail-from (flags, LISTCLEAN_*, config).

A CR or LF in the EHLO name or the MAIL FROM address would let a crafted value append commands
(``DATA`` and a whole message) to the conversation. listclean refuses such values when options
are parsed (exit 2, one line) and its SMTP client checks every line again before writing it:
only EHLO/HELO/STARTTLS/MAIL/RCPT/RSET/NOOP/QUIT, never a control character, never DATA.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from listclean.model import Reason
from listclean.probes.smtp import Connection, SmtpConfig, SmtpFailure
from listclean.safety import SMTP_VERBS, UnsafeValue

from ..conftest import read_csv, run_cli
from ..dnsserver import FakeDNS
from ..smtpserver import Lab, Raw
from .helpers import one_line_error, verify_net, zone_mx

IP = "127.0.7.1"
PAYLOADS = [
    "lab.test\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.",
    "lab.test\nRCPT TO:<victim@example.com>",
    "lab.test\rQUIT",
    "lab.test\x00DATA",
    "lab.test\x1b[31m",
    "lab test",
]
SENDERS = [
    "a@lab.test>\r\nDATA",
    "a@lab.test\nRSET",
    "a@lab.test> SIZE=1",
    "<a@lab.test>",
    "not-an-address",
    "a@lab.test\x00",
]


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[FakeDNS, Lab, Raw]]:
    dns = FakeDNS(zone_mx("inject.test", "mx.inject.test", IP))
    lab = Lab([IP])
    server = lab.raw(IP, Raw())
    yield dns, lab, server
    lab.close()
    dns.close()


def _list(tmp_path: Path) -> Path:
    src = tmp_path / "l.csv"
    src.write_text("email\nann@inject.test\n")
    return src


@pytest.mark.parametrize("payload", PAYLOADS)
def test_helo_flag_env_and_config_refused(
    payload: str, tmp_path: Path, lab: tuple[FakeDNS, Lab, Raw]
) -> None:
    dns, lab_, server = lab
    src = _list(tmp_path)
    before = server.sessions
    args = ["verify", str(src), "-o", "-", "--nameserver", dns.address, "--allow-private-mx"]
    args += ["--allow-test-domains", "--smtp-port", str(lab_.port)]
    # a NUL cannot be passed in argv or the environment (the OS refuses): only a file can
    for how in ("config",) if "\x00" in payload else ("flag", "env", "config"):
        env: dict[str, str] = {}
        extra: list[str] = []
        if how == "flag":
            extra = ["--helo", payload]
        elif how == "env":
            env = {"LISTCLEAN_HELO": payload}
        else:
            home = tmp_path / f"home-{how}"
            home.mkdir(mode=0o700)
            toml = payload.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")
            toml = toml.replace("\x00", "\\u0000").replace("\x1b", "\\u001b")
            (home / "listclean.toml").write_text(f'helo = "{toml}"\n')
            env = {"LISTCLEAN_HOME": str(home)}
        proc = run_cli(*args, *extra, env=env)
        assert proc.returncode == 2, (how, proc.stderr)
        assert "helo" in one_line_error(proc)
        assert proc.stdout == b""
    assert server.sessions == before  # nothing reached the wire


@pytest.mark.parametrize("sender", [s for s in SENDERS if "\x00" not in s])
def test_mail_from_refused(sender: str, tmp_path: Path, lab: tuple[FakeDNS, Lab, Raw]) -> None:
    dns, lab_, server = lab
    before = server.sessions
    for command in ("verify", "check"):
        target = str(_list(tmp_path)) if command == "verify" else "ann@inject.test"
        proc = run_cli(
            command,
            target,
            "--nameserver",
            dns.address,
            "--helo",
            "probe.lab.test",
            "--mail-from",
            sender,
            "--smtp-port",
            str(lab_.port),
            "--allow-private-mx",
            "--allow-test-domains",
        )
        assert proc.returncode == 2, proc.stderr
        assert "mail-from" in one_line_error(proc)
    proc = run_cli("verify", str(_list(tmp_path)), env={"LISTCLEAN_MAIL_FROM": sender})
    assert proc.returncode == 2
    assert server.sessions == before


def test_library_config_refuses_injection() -> None:
    for payload in PAYLOADS:
        with pytest.raises(UnsafeValue):
            SmtpConfig(helo=payload)
    for sender in SENDERS:
        with pytest.raises(UnsafeValue):
            SmtpConfig(mail_from=sender)


def test_client_checks_every_line_before_writing() -> None:
    """Defence in depth: even a line built inside listclean cannot carry a second command."""

    class Sink:
        def __init__(self) -> None:
            self.data = b""

        def write(self, data: bytes) -> None:
            self.data += data

    sink = Sink()
    conn = Connection(None, sink, 1.0, "mx.inject.test")  # type: ignore[arg-type]
    for line in (
        "DATA",
        "BDAT 10 LAST",
        "VRFY ann",
        "RCPT TO:<a@b.test>\r\nDATA",
        "MAIL FROM:<\x00>",
    ):
        with pytest.raises(SmtpFailure) as info:
            asyncio.run(conn.send(line))
        assert info.value.reason is Reason.SMTP_ERROR
        with pytest.raises(SmtpFailure):
            asyncio.run(conn.pipeline(["RSET", line]))
    assert sink.data == b""


def test_a_real_run_only_speaks_allowed_verbs(
    tmp_path: Path, lab: tuple[FakeDNS, Lab, Raw]
) -> None:
    dns, lab_, server = lab
    src = tmp_path / "l.csv"
    src.write_text("email\nann@inject.test\nbob@inject.test\n")
    proc = verify_net(src, dns.address, lab_.port, "--mail-from", "verify@probe.lab.test")
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(proc.stdout)
    assert [r[1] for r in rows[1:]] != []
    assert server.commands, "the server saw the run"
    for command in server.commands:
        assert command.split(" ", 1)[0].upper() in SMTP_VERBS
        assert not command.upper().startswith("DATA")
