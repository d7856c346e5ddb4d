"""End to end against the real Unbound of the testbed (lab.test zone, scripts/testbed_zones.py)."""

from __future__ import annotations

from pathlib import Path

from .conftest import read_csv, run_cli

LIST = """id,email
1,ann@good.lab.test
2,bob@nope.lab.test
3,c@nullmx.lab.test
4,d@nomail.lab.test
5,e@alias.lab.test
6,f@deadmx.lab.test
7,g@private.lab.test
8,h@bücher.lab.test
9,i@amx.lab.test
10,j@pref.lab.test
11,outside@example.com
"""


def test_real_dns_server(tmp_path: Path, testbed: str) -> None:
    src = tmp_path / "lab.csv"
    # --allow-private-mx would let listclean connect to row 7's MX (10.9.8.7): leave it out here
    src.write_text("".join(line + "\n" for line in LIST.splitlines() if not line.startswith("7,")))
    proc = run_cli(
        "verify",
        str(src),
        "-o",
        "-",
        "--allow-test-domains",
        "--allow-private-mx",
        "--nameserver",
        testbed,
        "--dns-timeout",
        "2",
        "--smtp-port",
        "9",
        "--no-cache",
    )
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(proc.stdout)
    got = {r[0]: (r[2], r[3], r[7]) for r in rows[1:]}
    assert got["2"] == ("undeliverable", "invalid_domain", "")
    assert got["3"] == ("undeliverable", "null_mx", "")
    assert got["4"] == ("undeliverable", "no_mail_server", "")
    assert got["6"] == ("undeliverable", "no_mail_server", "")
    assert got["5"][2] == "mx1.lab.test"  # CNAME followed
    assert got["8"][2] == "mx1.lab.test"  # IDN by its A-label
    assert got["9"][2] == "amx.lab.test"  # implicit MX
    assert got["10"][2] == "mx1.lab.test"  # preference 10 before 20
    # the testbed refuses names outside its zones: a DNS failure is unknown, never undeliverable
    assert got["11"][:2] == ("unknown", "dns_error")


def test_real_dns_private_mx_refused_by_default(tmp_path: Path, testbed: str) -> None:
    src = tmp_path / "lab.csv"
    src.write_text(LIST)
    proc = run_cli(
        "verify", str(src), "-o", "-", "--allow-test-domains", "--nameserver", testbed, "--no-cache"
    )
    rows = read_csv(proc.stdout)
    got = {r[0]: (r[2], r[3]) for r in rows[1:]}
    assert got["1"] == ("unknown", "private_mx")
    assert got["7"] == ("unknown", "private_mx")
    assert got["2"] == ("undeliverable", "invalid_domain")
