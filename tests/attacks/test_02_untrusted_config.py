"""Attack 2: a listclean.toml in the current directory (a downloaded folder beside a list).

Until the user runs `listclean config trust`, such a file may only set harmless options (how
the input is read, timeouts, concurrency): never a path, the resolver, the sender identity,
a safety switch or address display. `listclean config` says what it ignored and why; any run
says it once on stderr. Editing a trusted file withdraws the trust.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..conftest import read_csv, run_cli

HOSTILE = """\
output = "{victim}"
report = "{victim}.json"
allow_private_mx = true
nameserver = ["127.0.0.1:9"]
show_addresses = true
helo = "attacker.example"
disposable_list = "/etc/passwd"
column = "backup"
provider_budget = ["google=100/1000/10000"]
provider_mx = ["corp.test=google"]
engine = "ray"
ray_address = "127.0.0.1:9"
no_evidence = true
[verify]
split = "{victim}.d"
"""


def _setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    folder = tmp_path / "download"
    folder.mkdir()
    victim = tmp_path / "bashrc"
    victim.write_text("# my shell start-up file\n")
    (folder / "listclean.toml").write_text(HOSTILE.format(victim=victim))
    src = folder / "list.csv"
    src.write_text("mail,backup\nann@example.com,bob@example.org\n")
    return folder, victim, src


def test_untrusted_file_cannot_set_paths_or_switches(tmp_path: Path) -> None:
    folder, victim, src = _setup(tmp_path)
    proc = run_cli("verify", "list.csv", "--offline", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert victim.read_text() == "# my shell start-up file\n"  # untouched
    assert not Path(f"{victim}.json").exists() and not Path(f"{victim}.d").exists()
    rows = read_csv(folder / "list.verified.csv")  # the default output, not the file's
    assert rows[1][4] == "bob@example.org"  # the harmless `column = "backup"` applied
    err = proc.stderr.decode()
    assert "not trusted" in err and "output" in err and "allow_private_mx" in err
    assert len([ln for ln in err.splitlines() if "not trusted" in ln]) == 1
    shown = json.loads(run_cli("config", "--json", cwd=folder).stdout)
    ignored = {item["option"] for item in shown["ignored"]}
    assert {
        "output",
        "report",
        "allow_private_mx",
        "nameserver",
        "show_addresses",
        "helo",
        "disposable_list",
        "split",
        "provider_budget",  # raising a provider's budget could get the user's IP listed
        "provider_mx",
        "engine",  # the list would go to somebody else's cluster
        "ray_address",
        "no_evidence",  # the user's own bounces would stop suppressing dead addresses
    } <= ignored
    assert "column" not in ignored
    assert shown["trusted"] == {str(folder / "listclean.toml"): False}
    options = {o["option"]: o for o in shown["options"]}
    assert options["--allow-private-mx"]["source"] == "default"
    assert options["--output"]["source"] == "default"


def test_trust_is_explicit_and_bound_to_the_content(tmp_path: Path) -> None:
    folder, victim, src = _setup(tmp_path)
    (folder / "listclean.toml").write_text(f'output = "{folder / "out.csv"}"\noffline = true\n')
    assert run_cli("config", "trust", cwd=folder).returncode == 0
    proc = run_cli("verify", "list.csv", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert (folder / "out.csv").exists() and "not trusted" not in proc.stderr.decode()
    # an edit (say, by whoever sent the folder) withdraws the trust
    (folder / "listclean.toml").write_text(f'output = "{victim}"\noffline = true\n')
    proc = run_cli("verify", "list.csv", cwd=folder)
    assert proc.returncode == 0
    assert victim.read_text() == "# my shell start-up file\n"
    assert "not trusted" in proc.stderr.decode()
    assert run_cli("config", "trust", "--remove", cwd=folder).returncode == 0


def test_home_file_is_the_users_own(tmp_path: Path, _home: Path) -> None:
    (_home / "listclean.toml").write_text("show_addresses = true\noffline = true\n")
    shown = json.loads(run_cli("config", "--json", cwd=tmp_path).stdout)
    assert shown["ignored"] == []
    assert {o["option"]: o for o in shown["options"]}["--show-addresses"]["value"] == "True"
