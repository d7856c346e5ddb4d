"""Defaults from listclean.toml files and LISTCLEAN_* environment variables.

Precedence, lowest first: built-in defaults, $LISTCLEAN_HOME/listclean.toml,
./listclean.toml, LISTCLEAN_<OPTION> environment variables, command-line flags.

A file holds option names as keys (the long flag without dashes, "_" or "-" alike):

    smtp_port = 2525              # applies to every command that has the option
    nameserver = ["127.0.0.1:53"]
    [verify]                      # only for `listclean verify`
    greylist_delay = 60

Environment: LISTCLEAN_SMTP_PORT=2525, LISTCLEAN_NAMESERVER=1.1.1.1,9.9.9.9 (lists are
comma-separated), LISTCLEAN_OFFLINE=1. LISTCLEAN_HOME and LISTCLEAN_KEY are not options.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from listclean.errors import ConfigError

FILE = "listclean.toml"
NOT_OPTIONS = {"HOME", "KEY"}


@dataclass(frozen=True)
class Value:
    value: Any
    source: str  # "file PATH", "env NAME"


def _norm(key: str) -> str:
    return key.strip().lstrip("-").replace("-", "_").lower()


def config_files(home: Path) -> list[Path]:
    """Lowest precedence first."""
    return [p for p in (home / FILE, Path.cwd() / FILE) if p.is_file()]


def load(
    home: Path, commands: dict[str, dict[str, bool]], environ: dict[str, str] | None = None
) -> dict[str, dict[str, Value]]:
    """Effective non-default values per command. commands: name -> {option: is_multiple}."""
    environ = dict(os.environ) if environ is None else environ
    out: dict[str, dict[str, Value]] = {name: {} for name in commands}
    for path in config_files(home):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}; fix or remove the file") from None
        for key, value in data.items():
            if isinstance(value, dict) and _norm(key) in commands:
                for sub, subvalue in value.items():
                    _set(out, commands, _norm(key), _norm(sub), subvalue, f"file {path}", path)
            else:
                for command in commands:
                    if _norm(key) in commands[command]:
                        out[command][_norm(key)] = Value(value, f"file {path}")
                if not any(_norm(key) in opts for opts in commands.values()):
                    raise ConfigError(
                        f"{path}: unknown option {key!r}; see `listclean verify --help`"
                    )
    for name, raw in environ.items():
        if not name.startswith("LISTCLEAN_") or name[10:] in NOT_OPTIONS:
            continue
        option = _norm(name[10:])
        for command, options in commands.items():
            if option in options:
                parsed: Any = [v for v in raw.split(",") if v] if options[option] else raw
                out[command][option] = Value(parsed, f"env {name}")
    return out


def _set(
    out: dict[str, dict[str, Value]],
    commands: dict[str, dict[str, bool]],
    command: str,
    option: str,
    value: Any,
    source: str,
    path: Path,
) -> None:
    if option not in commands[command]:
        raise ConfigError(f"{path}: [{command}] has no option {option!r}")
    out[command][option] = Value(value, source)
