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

Trust (docs/security.md). The file in LISTCLEAN_HOME is the user's own. A ./listclean.toml may
have come with a downloaded folder, beside a customer's list: until the user allows it with
``listclean config trust`` (which records its path and the SHA-256 of its content, like
direnv's ``allow``), only the harmless keys in SAFE_KEYS apply from it. Paths (where output
goes), the resolver, the sender identity, the private-MX switch, address display and the
cache are never set by an untrusted file; what was ignored is shown by ``listclean config``
and in one notice per run. Editing a trusted file withdraws the trust.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from listclean.errors import ConfigError

FILE = "listclean.toml"
NOT_OPTIONS = {"HOME", "KEY"}
TRUST_FILE = "trusted-configs.json"
# What an untrusted ./listclean.toml may set: how the input is read and how patient and
# parallel the run is. Nothing that names a path, a server, an identity or a safety switch.
SAFE_KEYS = frozenset(
    {
        "column",
        "delimiter",
        "encoding",
        "output_format",
        "offline",
        "quiet",
        "verbose",
        "json_out",
        "dns_timeout",
        "smtp_timeout",
        "greylist_delay",
        "smtp_concurrency",
        "smtp_per_host",
    }
)


@dataclass(frozen=True)
class Ignored:
    path: Path
    key: str
    why: str


@dataclass(frozen=True)
class Value:
    value: Any
    source: str  # "file PATH", "env NAME"


def _norm(key: str) -> str:
    return key.strip().lstrip("-").replace("-", "_").lower()


def config_files(home: Path) -> list[Path]:
    """Lowest precedence first."""
    files = [p for p in (home / FILE, Path.cwd() / FILE) if p.is_file()]
    if len(files) == 2 and _same(files[0], files[1]):
        files = files[:1]  # the current directory is LISTCLEAN_HOME
    return files


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _trust_table(home: Path) -> dict[str, str]:
    try:
        data = json.loads((home / TRUST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def is_trusted(home: Path, path: Path) -> bool:
    """The home's own file, or a file the user allowed with `listclean config trust`."""
    if _same(path, home / FILE):
        return True
    try:
        return _trust_table(home).get(str(path.resolve())) == _digest(path)
    except OSError:
        return False


def trust(home: Path, path: Path, allow: bool = True) -> None:
    """Record (or withdraw) the user's trust in one config file, as its content is now."""
    from listclean.store import ensure_home, write_private

    ensure_home(home)
    table = _trust_table(home)
    key = str(path.resolve())
    if allow:
        try:
            table[key] = _digest(path)
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    else:
        table.pop(key, None)
    write_private(home / TRUST_FILE, json.dumps(table, indent=1).encode())


def load(
    home: Path,
    commands: dict[str, dict[str, bool]],
    environ: dict[str, str] | None = None,
    ignored: list[Ignored] | None = None,
) -> dict[str, dict[str, Value]]:
    """Effective non-default values per command. commands: name -> {option: is_multiple}.

    Keys an untrusted file may not set are left out and described in ``ignored``.
    """
    environ = dict(os.environ) if environ is None else environ
    ignored = [] if ignored is None else ignored
    out: dict[str, dict[str, Value]] = {name: {} for name in commands}
    for path in config_files(home):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}; fix or remove the file") from None
        trusted = is_trusted(home, path)

        def allowed(option: str, path: Path = path, trusted: bool = trusted) -> bool:
            if trusted or option in SAFE_KEYS:
                return True
            why = (
                "not trusted: a file in the current directory may only set harmless options; "
                f"allow it with `listclean config trust {path}`"
            )
            if not any(i.key == option and i.path == path for i in ignored):
                ignored.append(Ignored(path, option, why))
            return False

        for key, value in data.items():
            if isinstance(value, dict) and _norm(key) in commands:
                for sub, subvalue in value.items():
                    _check(commands, _norm(key), _norm(sub), path)
                    if allowed(_norm(sub)):
                        out[_norm(key)][_norm(sub)] = Value(subvalue, f"file {path}")
            else:
                if not any(_norm(key) in opts for opts in commands.values()):
                    raise ConfigError(
                        f"{path}: unknown option {key!r}; see `listclean verify --help`"
                    )
                if not allowed(_norm(key)):
                    continue
                for command in commands:
                    if _norm(key) in commands[command]:
                        out[command][_norm(key)] = Value(value, f"file {path}")
    for name, raw in environ.items():
        if not name.startswith("LISTCLEAN_") or name[10:] in NOT_OPTIONS:
            continue
        option = _norm(name[10:])
        for command, options in commands.items():
            if option in options:
                parsed: Any = [v for v in raw.split(",") if v] if options[option] else raw
                out[command][option] = Value(parsed, f"env {name}")
    return out


def _check(commands: dict[str, dict[str, bool]], command: str, option: str, path: Path) -> None:
    if option not in commands[command]:
        raise ConfigError(f"{path}: [{command}] has no option {option!r}")
