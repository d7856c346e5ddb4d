"""The command line. The only module that imports Typer; flags become a frozen Settings."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from listclean import __version__
from listclean.errors import ListcleanError
from listclean.settings import Settings, default_home

app = typer.Typer(
    name="listclean",
    help="Clean an email list on your own machine: the list never leaves it.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_show_locals=False,  # a traceback must never print the list's addresses
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


class OutputFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"listclean: error: {message}", err=True)
    return typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"listclean {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """listclean: verify an email list locally. Example: [bold]listclean verify contacts.csv[/]

    Defaults come from listclean.toml (here, then in LISTCLEAN_HOME) and LISTCLEAN_* variables;
    flags win. `listclean config` shows what is in effect and where it came from.
    """
    try:
        values = _config_values()
    except ListcleanError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    ctx.default_map = {cmd: {k: v.value for k, v in opts.items()} for cmd, opts in values.items()}


def _option_table() -> dict[str, dict[str, bool]]:
    """command -> {option name: takes several values} for the commands that take options."""
    table: dict[str, dict[str, bool]] = {}
    for name in ("verify", "check", "plan"):
        command = _commands().get(name)
        if command is not None:
            table[name] = {p.name: bool(p.multiple) for p in _options(command)}
    return table


def _commands() -> dict[str, Any]:
    import typer.main

    return dict(getattr(typer.main.get_command(app), "commands", {}))


def _options(command: Any) -> list[Any]:
    """The command's --options (typer vendors its own click: duck-typed, not isinstance)."""
    return [
        p
        for p in command.params
        if getattr(p, "param_type_name", "") == "option" and p.name and p.name != "help"
    ]


def _config_values() -> dict[str, Any]:
    from listclean.config import load

    return load(default_home(), _option_table())


@app.command("config")
def show_config(
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the effective defaults of `verify` and where each came from.

    Example: [bold]LISTCLEAN_SMTP_PORT=2525 listclean config[/]
    """
    import json

    from listclean.config import config_files

    try:
        values = _config_values().get("verify", {})
    except ListcleanError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    rows = []
    for param in _options(_commands()["verify"]):
        chosen = values.get(param.name)
        value = chosen.value if chosen else param.default
        if hasattr(value, "value"):
            value = value.value
        rows.append(
            {
                "option": param.opts[-1],
                "value": value if value is None else str(value),
                "source": chosen.source if chosen else "default",
            }
        )
    files = [str(p) for p in config_files(default_home())]
    if json_out:
        typer.echo(json.dumps({"files": files, "home": str(default_home()), "options": rows}))
        return
    typer.echo(f"LISTCLEAN_HOME: {default_home()}")
    typer.echo("config files: " + (", ".join(files) or "none"))
    for row in rows:
        typer.echo(f"{row['option']:<22} {row['value']!s:<28} {row['source']}")


def _nameserver(value: str) -> str:
    host, _, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
    if port and not port.isdigit():
        raise typer.BadParameter(f"{value!r} is not IP[:PORT]")
    return value


@app.command()
def verify(
    input: Annotated[str, typer.Argument(help="CSV or text list to verify; '-' reads stdin.")],
    output: Annotated[
        str | None,
        typer.Option(
            "-o", "--output", help="Where to write; '-' is stdout. Default: INPUT.verified.csv."
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(help="JSON report path. Default: OUTPUT.report.json (none for stdout)."),
    ] = None,
    column: Annotated[
        str | None, typer.Option(help="Name of the email column (default: detected).")
    ] = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", help="Output format: csv, or jsonl (one object a row)."),
    ] = OutputFormat.csv,
    html: Annotated[
        Path | None,
        typer.Option(help="HTML report path. Default: beside the JSON report (file outputs)."),
    ] = None,
    split: Annotated[
        Path | None,
        typer.Option(help="Also write deliverable/risky/undeliverable/unknown.csv into this dir."),
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="Field delimiter: , ; | or tab (default: detected).")
    ] = None,
    encoding: Annotated[
        str, typer.Option(help="Input encoding, e.g. cp1252 or latin-1.")
    ] = "utf-8",
    offline: Annotated[
        bool, typer.Option("--offline", help="No sockets at all: syntax and lists only.")
    ] = False,
    allow_test_domains: Annotated[
        bool, typer.Option("--allow-test-domains", help="Accept the RFC 6761 .test TLD.")
    ] = False,
    allow_private_mx: Annotated[
        bool,
        typer.Option(
            "--allow-private-mx", help="Probe MX hosts on loopback/private addresses (labs)."
        ),
    ] = False,
    disposable_list: Annotated[
        Path | None, typer.Option(help="Extra disposable domains, one per line.")
    ] = None,
    allow_list: Annotated[
        Path | None, typer.Option(help="Domains never treated as disposable, one per line.")
    ] = None,
    nameserver: Annotated[
        list[str] | None,
        typer.Option(
            help="DNS server IP[:PORT] to use instead of the system's (repeatable).",
            callback=lambda v: [_nameserver(x) for x in v] if v else v,
        ),
    ] = None,
    dns_timeout: Annotated[float, typer.Option(help="Seconds to wait for a DNS answer.")] = 5.0,
    smtp_port: Annotated[int, typer.Option(help="SMTP port to probe (25; labs use others).")] = 25,
    smtp_timeout: Annotated[
        float, typer.Option(help="Seconds for connect, banner and each SMTP reply.")
    ] = 30.0,
    smtp_concurrency: Annotated[
        int, typer.Option(help="Most SMTP sessions open at once, all hosts together.")
    ] = 20,
    helo: Annotated[
        str, typer.Option(help="EHLO name (default: this machine's fully qualified name).")
    ] = "",
    mail_from: Annotated[
        str, typer.Option(help="MAIL FROM address (default: verify@<helo name>).")
    ] = "",
    greylist_delay: Annotated[
        float, typer.Option(help="Seconds to wait before re-probing a greylisted address.")
    ] = 180.0,
    no_starttls: Annotated[
        bool, typer.Option("--no-starttls", help="Do not upgrade SMTP sessions to TLS.")
    ] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted run of the same input.")
    ] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Neither read nor write the cache for this run.")
    ] = False,
    cache_ttl: Annotated[
        float, typer.Option(help="Days a decided verdict is kept and reused (retention).")
    ] = 30.0,
    smtp_per_host: Annotated[
        int, typer.Option(help="Most SMTP sessions open at once to one MX host.")
    ] = 2,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log each probed address on stderr.")
    ] = False,
    show_addresses: Annotated[
        bool,
        typer.Option("--show-addresses", help="Log addresses in full (default: j***@example.com)."),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No summary or progress on stderr.")
    ] = False,
) -> None:
    """Verify every address of a list and write it back with verdict columns.

    Example: [bold]listclean verify contacts.csv -o - --offline | grep ',undeliverable,'[/]
    """
    from listclean import pipeline

    if smtp_port < 1 or smtp_port > 65535:
        raise _fail("--smtp-port must be between 1 and 65535", 2)
    for name, value in (("--dns-timeout", dns_timeout), ("--smtp-timeout", smtp_timeout)):
        if value <= 0:
            raise _fail(f"{name} must be a positive number of seconds", 2)
    settings = Settings(
        column=column,
        delimiter=delimiter,
        output_format=output_format.value,
        split_dir=split,
        html_path=html,
        encoding=encoding,
        allow_test_domains=allow_test_domains,
        disposable_list=disposable_list,
        allow_list=allow_list,
        offline=offline,
        nameservers=tuple(nameserver or ()),
        dns_timeout=dns_timeout,
        allow_private_mx=allow_private_mx,
        smtp_port=smtp_port,
        helo=helo,
        mail_from=mail_from,
        smtp_timeout=smtp_timeout,
        smtp_concurrency=max(1, smtp_concurrency),
        greylist_delay=max(0.0, greylist_delay),
        starttls=not no_starttls,
        home=default_home(),
        use_cache=not no_cache,
        resume=resume,
        cache_ttl_days=cache_ttl,
        smtp_per_host=max(1, smtp_per_host),
        show_addresses=show_addresses,
    )
    if cache_ttl <= 0:
        raise _fail("--cache-ttl must be a positive number of days", 2)
    log = None
    if verbose:
        from listclean.vault import redact

        def log(address: str, message: str) -> None:
            shown = address if show_addresses else redact(address)
            typer.echo(f"listclean: {shown} {message}", err=True)

    interactive = sys.stderr.isatty() and not quiet
    with _progress(interactive) as progress:
        try:
            result = pipeline.verify(
                input, output, settings, report_path=report, progress=progress, log=log
            )
        except pipeline.Interrupted as exc:
            typer.echo(f"listclean: {exc}", err=True)
            if settings.use_cache and not settings.offline:
                typer.echo(f"listclean: resume with: {_resume_command()}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except ListcleanError as exc:
            raise _fail(str(exc), exc.exit_code) from None
        except BrokenPipeError:
            raise typer.Exit(0) from None
    for note in result.notices:
        typer.echo(f"listclean: {note}", err=True)
    if interactive:
        from rich.console import Console

        from listclean.report import render_summary

        Console(stderr=True).print(render_summary(result.report))


@app.command()
def check(
    addresses: Annotated[list[str], typer.Argument(help="One or more addresses to check.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    offline: Annotated[bool, typer.Option("--offline", help="No sockets at all.")] = False,
    nameserver: Annotated[
        list[str] | None, typer.Option(help="DNS server IP[:PORT] (repeatable).")
    ] = None,
    smtp_port: Annotated[int, typer.Option(help="SMTP port to probe.")] = 25,
    helo: Annotated[str, typer.Option(help="EHLO name.")] = "",
    mail_from: Annotated[str, typer.Option(help="MAIL FROM address.")] = "",
    smtp_timeout: Annotated[float, typer.Option(help="Seconds per SMTP step.")] = 30.0,
    dns_timeout: Annotated[float, typer.Option(help="Seconds per DNS answer.")] = 5.0,
    greylist_delay: Annotated[float, typer.Option(help="Seconds before a greylist retry.")] = 180.0,
    allow_test_domains: Annotated[
        bool, typer.Option("--allow-test-domains", help="Accept the .test TLD.")
    ] = False,
    allow_private_mx: Annotated[
        bool, typer.Option("--allow-private-mx", help="Probe MX hosts on private addresses.")
    ] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not use the cache.")] = False,
) -> None:
    """Check single addresses and print one verdict each (a table, or JSON with --json).

    Example: [bold]listclean check ann@example.com bob@exmaple.com --offline[/]
    """
    import csv
    import json
    import tempfile

    from listclean import pipeline

    settings = Settings(
        offline=offline,
        nameservers=tuple(nameserver or ()),
        smtp_port=smtp_port,
        helo=helo,
        mail_from=mail_from,
        smtp_timeout=smtp_timeout,
        dns_timeout=dns_timeout,
        greylist_delay=greylist_delay,
        allow_test_domains=allow_test_domains,
        allow_private_mx=allow_private_mx,
        use_cache=not no_cache,
        home=default_home(),
        column="email",
    )
    with tempfile.TemporaryDirectory(prefix="listclean-check-") as tmp:
        src = Path(tmp) / "addresses.csv"
        with src.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["email"])
            writer.writerows([a] for a in addresses)
        try:
            pipeline.verify(str(src), str(Path(tmp) / "out.csv"), settings, report_path=None)
        except ListcleanError as exc:
            raise _fail(str(exc), exc.exit_code) from None
        with (Path(tmp) / "out.csv").open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    if json_out or not sys.stdout.isatty():
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    from listclean.report import STATUS_STYLE

    table = Table(show_edge=False)
    for col in ("address", "status", "reason", "suggestion", "mx", "reply"):
        table.add_column(col)
    for row in rows:
        style = STATUS_STYLE.get(row["lc_status"], "")
        table.add_row(
            row["email"],
            f"[{style}]{row['lc_status']}[/]",
            row["lc_reason"],
            row["lc_suggestion"],
            row["lc_mx"],
            row["lc_smtp_reply"],
        )
    Console().print(table)


@app.command()
def plan(
    input: Annotated[str, typer.Argument(help="CSV or text list; '-' reads stdin.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    column: Annotated[str | None, typer.Option(help="Name of the email column.")] = None,
    delimiter: Annotated[str | None, typer.Option(help="Field delimiter.")] = None,
    encoding: Annotated[str, typer.Option(help="Input encoding.")] = "utf-8",
    offline: Annotated[bool, typer.Option("--offline", help="No DNS, no SMTP check.")] = False,
    nameserver: Annotated[
        list[str] | None, typer.Option(help="DNS server IP[:PORT] (repeatable).")
    ] = None,
    dns_timeout: Annotated[float, typer.Option(help="Seconds per DNS answer.")] = 5.0,
    smtp_port: Annotated[int, typer.Option(help="SMTP port for the reachability check.")] = 25,
    smtp_timeout: Annotated[float, typer.Option(help="Seconds for the banner check.")] = 10.0,
    smtp_per_host: Annotated[int, typer.Option(help="Sessions per MX host, as verify.")] = 2,
    smtp_concurrency: Annotated[int, typer.Option(help="Sessions in all, as verify.")] = 20,
    allow_test_domains: Annotated[
        bool, typer.Option("--allow-test-domains", help="Accept the .test TLD.")
    ] = False,
    allow_private_mx: Annotated[
        bool, typer.Option("--allow-private-mx", help="Check MX hosts on private addresses.")
    ] = False,
) -> None:
    """Size up a list before probing: rows, unique addresses, MX providers, sessions, time,
    and whether outbound SMTP works here. No mailbox is probed.

    Example: [bold]listclean plan contacts.csv[/]
    """
    import json

    from listclean.plan import make_plan

    settings = Settings(
        column=column,
        delimiter=delimiter,
        encoding=encoding,
        offline=offline,
        nameservers=tuple(nameserver or ()),
        dns_timeout=dns_timeout,
        smtp_port=smtp_port,
        smtp_timeout=smtp_timeout,
        smtp_per_host=max(1, smtp_per_host),
        smtp_concurrency=max(1, smtp_concurrency),
        allow_test_domains=allow_test_domains,
        allow_private_mx=allow_private_mx,
        home=default_home(),
        use_cache=False,
    )
    try:
        result = make_plan(input, settings)
    except ListcleanError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    if json_out or not sys.stdout.isatty():
        typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    for key, value in result.items():
        if isinstance(value, list):
            typer.echo(f"{key}:")
            for item in value:
                typer.echo(f"  {item}")
        else:
            typer.echo(f"{key}: {value}")


cache_app = typer.Typer(help="What listclean keeps in LISTCLEAN_HOME: see it, delete it.")
app.add_typer(cache_app, name="cache")


@cache_app.command("stats")
def cache_stats(
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Counts and sizes of what is kept (never an address).

    Example: [bold]listclean cache stats[/]
    """
    import json

    from listclean.store import Store

    home = default_home()
    store = Store(home)
    try:
        stats: dict[str, Any] = dict(store.stats())
    finally:
        store.close()
    stats["home"] = str(home)
    stats["bytes"] = sum(p.stat().st_size for p in home.iterdir() if p.is_file())
    if json_out:
        typer.echo(json.dumps(stats, indent=2))
        return
    for key, value in stats.items():
        typer.echo(f"{key}: {value}")


@cache_app.command("purge")
def cache_purge(
    older_than: Annotated[
        float | None,
        typer.Option(help="Only what is older than this many days (default: everything)."),
    ] = None,
) -> None:
    """Delete kept results. Example: [bold]listclean cache purge --older-than 7[/]"""
    from listclean.store import Store

    if older_than is not None and older_than < 0:
        raise _fail("--older-than must be zero or more days", 2)
    store = Store(default_home())
    try:
        deleted = store.purge(None if older_than is None else older_than * 86_400)
    finally:
        store.close()
    typer.echo("deleted: " + ", ".join(f"{n} {table}" for table, n in deleted.items()))


@app.command("audit")
def audit_log(
    last: Annotated[int, typer.Option("--last", "-n", help="How many recent runs.")] = 20,
    json_out: Annotated[bool, typer.Option("--json", help="Print the raw JSON lines.")] = False,
) -> None:
    """Recent runs from the audit log. Example: [bold]listclean audit -n 5[/]"""
    import json

    from rich.console import Console
    from rich.table import Table

    from listclean import audit

    runs = audit.recent(default_home(), max(1, last))
    if json_out:
        for run in runs:
            typer.echo(json.dumps(run))
        return
    table = Table(title=f"listclean runs ({default_home() / audit.FILE})")
    for col in (
        "run",
        "state",
        "started",
        "input",
        "rows",
        "deliverable",
        "undeliverable",
        "risky",
        "unknown",
        "DNS q",
        "SMTP sessions",
        "RCPT",
    ):
        table.add_column(col)
    for run in runs:
        counts = run.get("counts") or {}
        egress = run.get("egress") or {}
        table.add_row(
            run.get("run_id", ""),
            run.get("state", ""),
            str(run.get("started", ""))[:19],
            str((run.get("input") or {}).get("path", "")),
            str((run.get("input") or {}).get("rows", "")),
            *(str(counts.get(k, "")) for k in ("deliverable", "undeliverable", "risky", "unknown")),
            str(egress.get("dns_queries", "")),
            str(egress.get("smtp_sessions", "")),
            str(egress.get("rcpt_commands", "")),
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # a pipe: do not squeeze the table into 80 columns
    console.print(table)


def _rate_column() -> Any:
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f} rows/s" if speed else "")

    return RateColumn()


class _progress:
    """A Rich progress bar on a TTY; a no-op callback in pipes and cron jobs."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> Any:
        if not self.enabled:
            return lambda stage, done, total: None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            _rate_column(),
            TimeRemainingColumn(),
            transient=True,
        )
        self.bar.start()

        def update(stage: str, done: int, total: int | None) -> None:
            task = self.tasks.get(stage)
            if task is None:
                task = self.tasks[stage] = self.bar.add_task(stage, total=total)
            self.bar.update(task, advance=done, total=total)

        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _resume_command() -> str:
    import shlex

    args = sys.argv[1:]
    if "--resume" not in args:
        args = [*args, "--resume"]
    return shlex.join(["listclean", *args])


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops as cleanly as Ctrl-C


def main() -> None:
    import signal

    signal.signal(signal.SIGTERM, _sigterm)
    try:
        app()
    except BrokenPipeError:  # e.g. `listclean verify x.csv -o - | head`
        sys.exit(0)
