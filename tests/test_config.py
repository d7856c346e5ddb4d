"""Defaults from listclean.toml and LISTCLEAN_* variables; flags win; `listclean config`."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import read_csv, run_cli


def lst(tmp_path: Path) -> Path:
    src = tmp_path / "l.csv"
    src.write_text("name,mail,other\nAnn,ann@example.com,bob@example.org\n")
    return src


def test_env_and_files_and_flags(tmp_path: Path) -> None:
    src = lst(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    env = {"LISTCLEAN_HOME": str(home)}
    # a file in LISTCLEAN_HOME: offline, and the "other" column
    (home / "listclean.toml").write_text('offline = true\ncolumn = "other"\n')
    rows = read_csv(run_cli("verify", str(src), "-o", "-", env=env, cwd=tmp_path).stdout)
    assert rows[1][5] == "bob@example.org" and rows[1][4] == "not_probed"
    # ./listclean.toml beats the home file
    (tmp_path / "listclean.toml").write_text('[verify]\ncolumn = "mail"\n')
    rows = read_csv(run_cli("verify", str(src), "-o", "-", env=env, cwd=tmp_path).stdout)
    assert rows[1][5] == "ann@example.com"
    # the environment beats both files
    rows = read_csv(
        run_cli(
            "verify", str(src), "-o", "-", env={**env, "LISTCLEAN_COLUMN": "other"}, cwd=tmp_path
        ).stdout
    )
    assert rows[1][5] == "bob@example.org"
    # and a flag beats everything
    rows = read_csv(
        run_cli(
            "verify",
            str(src),
            "-o",
            "-",
            "--column",
            "mail",
            env={**env, "LISTCLEAN_COLUMN": "other"},
            cwd=tmp_path,
        ).stdout
    )
    assert rows[1][5] == "ann@example.com"
    shown = json.loads(
        run_cli("config", "--json", env={**env, "LISTCLEAN_SMTP_PORT": "2525"}, cwd=tmp_path).stdout
    )
    by_option = {o["option"]: o for o in shown["options"]}
    assert by_option["--smtp-port"] == {
        "option": "--smtp-port",
        "value": "2525",
        "source": "env LISTCLEAN_SMTP_PORT",
    }
    assert by_option["--column"]["source"] == f"file {tmp_path / 'listclean.toml'}"
    assert by_option["--offline"]["source"] == f"file {home / 'listclean.toml'}"
    assert by_option["--dns-timeout"]["source"] == "default"
    assert len(shown["files"]) == 2


def test_bad_config_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "listclean.toml").write_text("offline = = yes\n")
    proc = run_cli("verify", str(lst(tmp_path)), "-o", "-", cwd=tmp_path)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "listclean.toml" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    (tmp_path / "listclean.toml").write_text("no_such_option = 1\n")
    proc = run_cli("verify", str(lst(tmp_path)), "-o", "-", cwd=tmp_path)
    assert proc.returncode == 2 and "unknown option 'no_such_option'" in proc.stderr.decode()
