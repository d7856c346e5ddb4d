"""The command line. The only module that imports Typer; flags become a frozen Settings."""

from __future__ import annotations

import math
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


class DedupeMode(StrEnum):
    exact = "exact"
    case_fold = "casefold"  # not `casefold`: that would shadow str.casefold
    provider = "provider"


class EngineName(StrEnum):
    local = "local"
    ray = "ray"


class OutputFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    xlsx = "xlsx"


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
        typer.Option(
            "--version", metavar=" ", callback=_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """listclean: verify an email list locally. Example: [bold]listclean verify contacts.csv[/]

    Defaults come from listclean.toml (here, then in LISTCLEAN_HOME) and LISTCLEAN_* variables;
    flags win. `listclean config` shows what is in effect and where it came from.
    """
    if ctx.invoked_subcommand == "config":
        return  # `listclean config` reads (and shows) the files itself, even broken ones
    ignored: list[Any] = []
    try:
        values = _config_values(ignored)
    except ListcleanError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    ctx.default_map = {cmd: {k: v.value for k, v in opts.items()} for cmd, opts in values.items()}
    for path in sorted({str(i.path) for i in ignored}):
        keys = ", ".join(sorted(i.key for i in ignored if str(i.path) == path))
        typer.echo(
            f"listclean: {path} is not trusted; ignored: {keys} "
            f"(see `listclean config`; allow it with `listclean config trust {path}`)",
            err=True,
        )


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


def _config_values(ignored: list[Any] | None = None) -> dict[str, Any]:
    from listclean.config import load

    return load(default_home(), _option_table(), ignored=ignored)


config_app = typer.Typer(
    help="Defaults from listclean.toml and LISTCLEAN_* variables: see them, trust a file."
)
app.add_typer(config_app, name="config")


@config_app.callback(invoke_without_command=True)
def show_config(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", metavar=" ", help="Print JSON.")] = False,
) -> None:
    """Show the effective defaults of `verify`, where each came from, and what was ignored.

    Example: [bold]LISTCLEAN_SMTP_PORT=2525 listclean config[/]
    """
    if ctx.invoked_subcommand is not None:
        return
    import json

    from listclean.config import config_files, is_trusted

    ignored: list[Any] = []
    try:
        values = _config_values(ignored).get("verify", {})
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
    home = default_home()
    files = [str(p) for p in config_files(home)]
    trusted = {str(p): is_trusted(home, p) for p in config_files(home)}
    dropped = [{"file": str(i.path), "option": i.key, "why": i.why} for i in ignored]
    if json_out:
        typer.echo(
            json.dumps(
                {
                    "files": files,
                    "trusted": trusted,
                    "home": str(home),
                    "options": rows,
                    "ignored": dropped,
                }
            )
        )
        return
    from listclean.safety import has_control

    def shown(value: object) -> str:
        text = str(value)
        return repr(text) if has_control(text) else text

    typer.echo(f"LISTCLEAN_HOME: {shown(home)}")
    typer.echo(
        "config files: "
        + (
            ", ".join(f"{shown(f)} ({'trusted' if trusted[f] else 'NOT trusted'})" for f in files)
            or "none"
        )
    )
    for row in rows:
        typer.echo(f"{row['option']:<22} {shown(row['value']):<28} {shown(row['source'])}")
    for item in dropped:
        typer.echo(f"ignored: {item['option']} from {shown(item['file'])}: {item['why']}")


@config_app.command("trust")
def config_trust(
    path: Annotated[
        Path, typer.Argument(help="The listclean.toml to allow (default: ./listclean.toml).")
    ] = Path("listclean.toml"),
    remove: Annotated[
        bool, typer.Option("--remove", metavar=" ", help="Withdraw the trust instead.")
    ] = False,
) -> None:
    """Allow a listclean.toml outside LISTCLEAN_HOME to set every option (as it is now: an
    edit withdraws the trust). Example: [bold]listclean config trust ./listclean.toml[/]"""
    from listclean.config import trust

    if not remove and not path.is_file():
        raise _fail(f"{path}: no such file", 1)
    try:
        trust(default_home(), path, allow=not remove)
    except ListcleanError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    typer.echo(f"{'no longer trusted' if remove else 'trusted'}: {path.resolve()}")


def _usage(message: str) -> typer.BadParameter:
    return typer.BadParameter(message)


def _seconds(limit: float) -> Any:
    """A callback: a finite positive number of seconds, at most ``limit``."""

    def check(value: float | None) -> float | None:
        if value is None:
            return value
        if not math.isfinite(value) or value <= 0:
            raise _usage(f"{value} is not a finite positive number of seconds")
        if value > limit:
            raise _usage(f"{value} is more than {limit:g} seconds; give a smaller value")
        return value

    return check


def _non_negative_seconds(limit: float) -> Any:
    def check(value: float | None) -> float | None:
        if value is None:
            return value
        if not math.isfinite(value) or value < 0:
            raise _usage(f"{value} is not zero or a finite positive number of seconds")
        if value > limit:
            raise _usage(f"{value} is more than {limit:g} seconds; give a smaller value")
        return value

    return check


def _days(value: float | None) -> float | None:
    if value is None:
        return value
    if not math.isfinite(value) or value <= 0 or value > 3650:
        raise _usage(f"{value} is not a number of days between 0 and 3650")
    return value


def _non_negative_days(value: float | None) -> float | None:
    if value is None:
        return value
    if not math.isfinite(value) or value < 0:
        raise _usage(f"{value} is not zero or a finite positive number of days")
    return value


def _int_range(low: int, high: int) -> Any:
    def check(value: int | None) -> int | None:
        if value is None:
            return value
        if not low <= value <= high:
            raise _usage(f"{value} is not between {low} and {high}")
        return value

    return check


def _nameservers(values: list[str] | None) -> list[str] | None:
    if not values:
        return values
    from listclean.probes.dns import parse_nameserver

    out = []
    for value in values:
        try:
            parse_nameserver(value)
        except ListcleanError as exc:
            raise _usage(str(exc)) from None
        out.append(value)
    return out


def _helo(value: str) -> str:
    from listclean.safety import UnsafeValue, check_helo

    if not value:
        return value
    try:
        return check_helo(value)
    except UnsafeValue as exc:
        raise _usage(str(exc)) from None


def _mail_from(value: str) -> str:
    from listclean.safety import UnsafeValue, check_mail_from

    try:
        return check_mail_from(value)
    except UnsafeValue as exc:
        raise _usage(str(exc)) from None


def _text_option(what: str) -> Any:
    def check(value: str | None) -> str | None:
        from listclean.safety import has_control

        if value is not None and has_control(value):
            raise _usage(f"{what} must not contain control characters")
        return value

    return check


# Every option is declared once, with its validation, and shared by the commands that take
# it: `verify`, `check` and `plan` cannot drift apart.
Column = Annotated[
    str | None,
    typer.Option(
        help="Name of the email column (default: detected).", callback=_text_option("--column")
    ),
]
Sheet = Annotated[
    str | None,
    typer.Option(
        help="The sheet of an .xlsx input to read (default: the first).",
        callback=_text_option("--sheet"),
    ),
]
Delimiter = Annotated[
    str | None, typer.Option(help="Field delimiter: , ; | or tab (default: detected).")
]
Encoding = Annotated[str, typer.Option(help="Input encoding, e.g. cp1252 or latin-1.")]
Offline = Annotated[
    bool, typer.Option("--offline", metavar=" ", help="No sockets at all: syntax and lists only.")
]
AllowTestDomains = Annotated[
    bool, typer.Option("--allow-test-domains", metavar=" ", help="Accept the RFC 6761 .test TLD.")
]
AllowPrivateMx = Annotated[
    bool,
    typer.Option(
        "--allow-private-mx",
        metavar=" ",
        help="Probe MX hosts on loopback/private addresses (labs).",
    ),
]
Nameserver = Annotated[
    list[str] | None,
    typer.Option(
        help="DNS server IP[:PORT] to use instead of the system's (repeatable).",
        callback=_nameservers,
    ),
]
DnsTimeout = Annotated[
    float, typer.Option(help="Seconds to wait for a DNS answer.", callback=_seconds(300))
]
SmtpPort = Annotated[
    int,
    typer.Option(help="SMTP port to probe (25; labs use others).", callback=_int_range(1, 65535)),
]
SmtpTimeout = Annotated[
    float,
    typer.Option(help="Seconds for connect, banner and each SMTP reply.", callback=_seconds(600)),
]
SmtpConcurrency = Annotated[
    int,
    typer.Option(
        help="Most SMTP sessions open at once, all hosts together.",
        callback=_int_range(1, 1000),
    ),
]
SmtpPerHost = Annotated[
    int,
    typer.Option(
        help="Most SMTP sessions open at once to one MX host.", callback=_int_range(1, 50)
    ),
]
Helo = Annotated[
    str,
    typer.Option(help="EHLO name (default: this machine's fully qualified name).", callback=_helo),
]
MailFrom = Annotated[
    str, typer.Option(help="MAIL FROM address (default: verify@<helo name>).", callback=_mail_from)
]
GreylistDelay = Annotated[
    float,
    typer.Option(
        help="Seconds to wait before re-probing a greylisted address.",
        callback=_non_negative_seconds(86_400),
    ),
]
NoStarttls = Annotated[
    bool,
    typer.Option("--no-starttls", metavar=" ", help="Do not upgrade SMTP sessions to TLS."),
]
HostBudget = Annotated[
    float,
    typer.Option(
        help="Seconds one MX host may take in a run before its remaining addresses are "
        "unknown/smtp_timeout (slow or tarpitting hosts).",
        callback=_seconds(7 * 86_400),
    ),
]


def _each(module: str, parse_name: str) -> Any:
    """A callback that checks every value of a repeatable option with a parser of
    ``listclean.<module>`` (imported when the option is used); its ValueError is a usage error."""

    def check(values: list[str] | None) -> list[str] | None:
        import importlib

        if not values:
            return values
        parse = getattr(importlib.import_module(f"listclean.{module}"), parse_name)
        for value in values or []:
            try:
                parse(value)
            except ValueError as exc:  # EgressError is a ValueError too
                raise _usage(str(exc)) from None
        return values

    return check


def _source_address(value: str | None) -> str | None:
    import ipaddress

    if value is None:
        return value
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise _usage(f"{value!r} is not an IP address of this machine") from None
    return value


ProxyOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--proxy",
        help="SOCKS5 proxy for SMTP, socks5://[user:pass@]host:port (repeatable: used in "
        "rotation). DNS stays local: the proxy is asked for the IP.",
        callback=_each("probes.egress", "parse_proxy"),
    ),
]
RouteOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--route",
        help="Per-provider route SUFFIX=PROXY (or SUFFIX=direct) for MX hosts ending with "
        "SUFFIX, e.g. outlook.com=socks5://127.0.0.1:1080 (repeatable).",
        callback=_each("probes.egress", "parse_route"),
    ),
]
ProviderBudget = Annotated[
    list[str] | None,
    typer.Option(
        "--provider-budget",
        help="A provider's budget KEY=SESSIONS/RCPTS/PER_MINUTE: sessions at once over all its "
        "MX hosts, RCPTs per session, new sessions per minute (0: no pace), e.g. "
        "google=2/50/10 (repeatable; docs/politeness.md).",
        callback=_each("politeness", "parse_budget"),
    ),
]
ProviderMx = Annotated[
    list[str] | None,
    typer.Option(
        "--provider-mx",
        help="MX host names ending in SUFFIX belong to provider KEY: SUFFIX=KEY, e.g. "
        "mx.corp.example=corp (repeatable).",
        callback=_each("politeness", "parse_mx_rule"),
    ),
]
SourceAddress = Annotated[
    str | None,
    typer.Option(help="Bind outbound SMTP to this local IP address.", callback=_source_address),
]
NoCache = Annotated[
    bool,
    typer.Option("--no-cache", metavar=" ", help="Neither read nor write the cache for this run."),
]
Dedupe = Annotated[
    DedupeMode,
    typer.Option(
        help="Which addresses count as duplicates: exact (as typed), casefold (local part "
        "case-insensitive, as providers treat it), provider (also Gmail dots and +tags, and "
        "+tags at providers that document them)."
    ),
]
Engine = Annotated[
    EngineName,
    typer.Option(
        help="Where the work runs: local, or a Ray cluster (pip install 'listclean[ray]'; "
        "docs/scale-out.md). `plan` then also shows the partition plan."
    ),
]
RayAddress = Annotated[
    str | None,
    typer.Option(
        help="With --engine ray: the cluster at HOST:PORT (default: a local Ray on 127.0.0.1).",
        callback=_text_option("--ray-address"),
    ),
]
NoEvidence = Annotated[
    bool,
    typer.Option(
        "--no-evidence",
        metavar=" ",
        help="Ignore what `listclean learn` stored (bounces, complaints, unsubscribes).",
    ),
]
JsonOut = Annotated[bool, typer.Option("--json", metavar=" ", help="Print JSON.")]


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
    column: Column = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            help="Output format: csv, jsonl (one object a row) or xlsx (default: xlsx for an "
            ".xlsx input or output name, else csv).",
        ),
    ] = OutputFormat.csv,
    html: Annotated[
        Path | None,
        typer.Option(help="HTML report path. Default: beside the JSON report (file outputs)."),
    ] = None,
    split: Annotated[
        Path | None,
        typer.Option(help="Also write deliverable/risky/undeliverable/unknown.csv into this dir."),
    ] = None,
    delimiter: Delimiter = None,
    encoding: Encoding = "utf-8",
    sheet: Sheet = None,
    offline: Offline = False,
    allow_test_domains: AllowTestDomains = False,
    allow_private_mx: AllowPrivateMx = False,
    disposable_list: Annotated[
        Path | None, typer.Option(help="Extra disposable domains, one per line.")
    ] = None,
    allow_list: Annotated[
        Path | None, typer.Option(help="Domains never treated as disposable, one per line.")
    ] = None,
    dedupe: Dedupe = DedupeMode.case_fold,
    nameserver: Nameserver = None,
    dns_timeout: DnsTimeout = 5.0,
    smtp_port: SmtpPort = 25,
    smtp_timeout: SmtpTimeout = 30.0,
    smtp_concurrency: SmtpConcurrency = 20,
    helo: Helo = "",
    mail_from: MailFrom = "",
    greylist_delay: GreylistDelay = 180.0,
    host_budget: HostBudget = 900.0,
    proxy: ProxyOpt = None,
    route: RouteOpt = None,
    provider_budget: ProviderBudget = None,
    provider_mx: ProviderMx = None,
    source_address: SourceAddress = None,
    no_starttls: NoStarttls = False,
    engine: Engine = EngineName.local,
    ray_address: RayAddress = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", metavar=" ", help="Continue an interrupted run of the same input."
        ),
    ] = False,
    no_cache: NoCache = False,
    no_evidence: NoEvidence = False,
    from_cache: Annotated[
        bool,
        typer.Option(
            "--from-cache",
            metavar=" ",
            help="No socket at all: verdicts from the replies and MX answers earlier runs "
            "kept, classified again with this version (and what `learn` stored).",
        ),
    ] = False,
    cache_ttl: Annotated[
        float,
        typer.Option(help="Days a decided verdict is kept and reused (retention).", callback=_days),
    ] = 30.0,
    smtp_per_host: SmtpPerHost = 2,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", metavar=" ", help="Log each probed address on stderr."),
    ] = False,
    show_addresses: Annotated[
        bool,
        typer.Option(
            "--show-addresses",
            metavar=" ",
            help="Log addresses in full (default: j***@example.com).",
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", metavar=" ", help="No summary or progress on stderr.")
    ] = False,
) -> None:
    """Verify every address of a list and write it back with verdict columns.

    Example: [bold]listclean verify contacts.csv -o - --offline | grep ',undeliverable,'[/]
    """
    from listclean import pipeline

    settings = Settings(
        column=column,
        delimiter=delimiter,
        output_format=output_format.value,
        sheet=sheet,
        split_dir=split,
        html_path=html,
        encoding=encoding,
        allow_test_domains=allow_test_domains,
        disposable_list=disposable_list,
        allow_list=allow_list,
        dedupe=dedupe.value,
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
        host_budget=host_budget,
        proxies=tuple(proxy or ()),
        routes=tuple(route or ()),
        provider_budgets=tuple(provider_budget or ()),
        provider_mx=tuple(provider_mx or ()),
        source_address=source_address,
        starttls=not no_starttls,
        engine=engine.value,
        ray_address=ray_address,
        home=default_home(),
        use_cache=not no_cache,
        use_evidence=not no_evidence,
        from_cache=from_cache,
        resume=resume,
        cache_ttl_days=cache_ttl,
        smtp_per_host=max(1, smtp_per_host),
        show_addresses=show_addresses,
    )
    log = None
    if verbose:
        from listclean.safety import neutralise_cell
        from listclean.vault import redact

        def log(address: str, message: str) -> None:
            shown = address if show_addresses else redact(address)
            # what a list or a server sent never reaches the terminal as control characters
            typer.echo(f"listclean: {neutralise_cell(shown)} {neutralise_cell(message)}", err=True)

    early: list[str] = []
    if not settings.offline and not settings.from_cache:
        # Pre-flight: a HELO or MAIL FROM that servers refuse would turn the run into
        # unknowns; say so before probing, once, with the fix (also in the report's notices).
        from listclean.safety import neutralise_cell
        from listclean.sender import check_identity

        try:
            early = check_identity(settings).warnings
        except ListcleanError as exc:
            raise _fail(str(exc), exc.exit_code) from None
        for note in early:  # may quote names from DNS: no control characters reach the tty
            typer.echo(f"listclean: warning: {neutralise_cell(note)}", err=True)
    interactive = sys.stderr.isatty() and not quiet
    with _progress(interactive) as progress:
        try:
            result = pipeline.verify(
                input,
                output,
                settings,
                report_path=report,
                progress=progress,
                notices=list(early),
                log=log,
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
    for note in result.notices[len(early) :]:
        typer.echo(f"listclean: {note}", err=True)
    if interactive:
        from rich.console import Console

        from listclean.report import render_summary

        Console(stderr=True).print(render_summary(result.report))


@app.command()
def check(
    addresses: Annotated[list[str], typer.Argument(help="One or more addresses to check.")],
    json_out: JsonOut = False,
    offline: Offline = False,
    nameserver: Nameserver = None,
    smtp_port: SmtpPort = 25,
    helo: Helo = "",
    mail_from: MailFrom = "",
    smtp_timeout: SmtpTimeout = 30.0,
    dns_timeout: DnsTimeout = 5.0,
    greylist_delay: GreylistDelay = 180.0,
    host_budget: HostBudget = 900.0,
    proxy: ProxyOpt = None,
    route: RouteOpt = None,
    provider_budget: ProviderBudget = None,
    provider_mx: ProviderMx = None,
    source_address: SourceAddress = None,
    allow_test_domains: AllowTestDomains = False,
    allow_private_mx: AllowPrivateMx = False,
    no_cache: NoCache = False,
    no_evidence: NoEvidence = False,
) -> None:
    """Check single addresses and print one verdict each (a table, or JSON with --json).

    Example: [bold]listclean check ann@example.com bob@exmaple.com --offline[/]
    """
    import json

    import polars as pl

    from listclean.api import annotate

    settings = Settings(
        offline=offline,
        nameservers=tuple(nameserver or ()),
        smtp_port=smtp_port,
        helo=helo,
        mail_from=mail_from,
        smtp_timeout=smtp_timeout,
        dns_timeout=dns_timeout,
        greylist_delay=greylist_delay,
        host_budget=host_budget,
        proxies=tuple(proxy or ()),
        routes=tuple(route or ()),
        provider_budgets=tuple(provider_budget or ()),
        provider_mx=tuple(provider_mx or ()),
        source_address=source_address,
        allow_test_domains=allow_test_domains,
        allow_private_mx=allow_private_mx,
        use_cache=not no_cache,
        use_evidence=not no_evidence,
        home=default_home(),
        column="email",
    )
    frame = pl.DataFrame({"email": list(addresses)}, schema={"email": pl.String})
    try:
        rows = annotate(frame, settings=settings).to_dicts()
    except ListcleanError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    if json_out or not sys.stdout.isatty():
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    from listclean.report import STATUS_STYLE
    from listclean.safety import for_terminal

    table = Table(show_edge=False)
    for col in ("address", "status", "reason", "suggestion", "mx", "reply"):
        table.add_column(col)
    for row in rows:
        style = STATUS_STYLE.get(row["lc_status"], "")
        # every cell is escaped for Rich: a server's "[link=...]" stays text, not a link
        table.add_row(
            for_terminal(row["email"]),
            f"[{style}]{for_terminal(row['lc_status'])}[/]",
            for_terminal(row["lc_reason"]),
            for_terminal(row["lc_suggestion"]),
            for_terminal(row["lc_mx"]),
            for_terminal(row["lc_smtp_reply"]),
        )
    Console().print(table)


@app.command()
def plan(
    input: Annotated[str, typer.Argument(help="CSV or text list; '-' reads stdin.")],
    json_out: JsonOut = False,
    column: Column = None,
    delimiter: Delimiter = None,
    encoding: Encoding = "utf-8",
    offline: Offline = False,
    nameserver: Nameserver = None,
    dns_timeout: DnsTimeout = 5.0,
    smtp_port: SmtpPort = 25,
    smtp_timeout: SmtpTimeout = 30.0,
    smtp_per_host: SmtpPerHost = 2,
    smtp_concurrency: SmtpConcurrency = 20,
    allow_test_domains: AllowTestDomains = False,
    allow_private_mx: AllowPrivateMx = False,
    helo: Helo = "",
    mail_from: MailFrom = "",
    greylist_delay: GreylistDelay = 180.0,
    host_budget: HostBudget = 900.0,
    no_starttls: NoStarttls = False,
    proxy: ProxyOpt = None,
    route: RouteOpt = None,
    provider_budget: ProviderBudget = None,
    provider_mx: ProviderMx = None,
    source_address: SourceAddress = None,
    engine: Engine = EngineName.local,
    ray_address: RayAddress = None,
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
        helo=helo,
        mail_from=mail_from,
        greylist_delay=greylist_delay,
        host_budget=host_budget,
        starttls=not no_starttls,
        proxies=tuple(proxy or ()),
        routes=tuple(route or ()),
        provider_budgets=tuple(provider_budget or ()),
        provider_mx=tuple(provider_mx or ()),
        source_address=source_address,
        engine=engine.value,
        ray_address=ray_address,
        home=default_home(),
        use_cache=False,
    )
    try:
        result = make_plan(input, settings)
    except ListcleanError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    if json_out or not sys.stdout.isatty():
        typer.echo(json.dumps(result, indent=2))
        return
    from rich.console import Console

    Console().print(_plan_table(result))


def _plan_lines(value: Any) -> list[str]:
    """A plan value as lines of text: a dict as "key: value", a list one item a line."""
    if isinstance(value, dict):
        out: list[str] = []
        for key, item in value.items():
            lines = _plan_lines(item)
            out.append(f"{key}: {lines[0] if len(lines) == 1 else ''}".rstrip())
            if len(lines) > 1:
                out.extend(f"  {line}" for line in lines)
        return out or [""]
    if isinstance(value, list):
        return [
            "  ".join(str(v) for v in item.values()) if isinstance(item, dict) else str(item)
            for item in value
        ] or [""]
    return [str(value)]


def _plan_table(plan: dict[str, Any]) -> Any:
    """`listclean plan` on a terminal: one Rich table, every value escaped."""
    from rich.table import Table

    from listclean.safety import for_terminal

    table = Table(title="listclean plan (nothing was probed)", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in plan.items():
        lines = "\n".join(for_terminal(line) for line in _plan_lines(value))
        table.add_row(for_terminal(key.replace("_", " ")), lines)
    return table


cache_app = typer.Typer(help="What listclean keeps in LISTCLEAN_HOME: see it, delete it.")
app.add_typer(cache_app, name="cache")


@cache_app.command("stats")
def cache_stats(
    json_out: Annotated[bool, typer.Option("--json", metavar=" ", help="Print JSON.")] = False,
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
        typer.Option(
            help="Only what is older than this many days (default: everything).",
            callback=_non_negative_days,
        ),
    ] = None,
) -> None:
    """Delete kept results. Example: [bold]listclean cache purge --older-than 7[/]"""
    from listclean.store import Store

    store = Store(default_home())
    try:
        deleted = store.purge(None if older_than is None else older_than * 86_400)
    finally:
        store.close()
    typer.echo("deleted: " + ", ".join(f"{n} {table}" for table, n in deleted.items()))


def _when_option(value: str | None) -> str | None:
    if value is None:
        return value
    from listclean.learn import parse_when

    if parse_when(value) is None:
        raise _usage(f"{value!r} is not a date; use YYYY-MM-DD")
    return value


@app.command()
def learn(
    files: Annotated[
        list[str] | None,
        typer.Argument(
            help="Bounce logs, exports or mailboxes (Postfix/Exim logs, Mailchimp, HubSpot, "
            "Brevo, SendGrid, Amazon SES, mbox, Maildir). Formats are detected."
        ),
    ] = None,
    stats: Annotated[
        bool, typer.Option("--stats", metavar=" ", help="Show what is learned (counts only).")
    ] = False,
    forget: Annotated[
        bool,
        typer.Option(
            "--forget",
            metavar=" ",
            help="Delete learned evidence: all of it, or with --source and/or --before.",
        ),
    ] = False,
    source: Annotated[
        str | None,
        typer.Option(help="With --forget: only this source format (postfix, mailchimp, ses...)."),
    ] = None,
    before: Annotated[
        str | None,
        typer.Option(
            help="With --forget: only evidence older than this date (YYYY-MM-DD).",
            callback=_when_option,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", metavar=" ", help="Parse and count; store nothing.")
    ] = False,
    json_out: JsonOut = False,
) -> None:
    """Learn from your own bounces: later runs mark hard-bounced addresses
    undeliverable/previously_bounced and flag complaints and unsubscribes.

    Example: [bold]listclean learn /var/log/mail.log cleaned_members_export.csv[/]
    """
    import json
    import time
    from collections import Counter

    from listclean.evidence import Evidence
    from listclean.learn import FORMATS, audit_line, file_sha256, parse_files, parse_when
    from listclean.safety import for_terminal
    from listclean.store import Store
    from listclean.vault import Vault

    home = default_home()
    if forget or stats:
        if files:
            raise _fail(
                "--stats and --forget take no files; run `listclean learn FILE...` apart", 2
            )
        if source is not None and source not in FORMATS:
            raise _fail(f"unknown --source {source!r}; one of: {', '.join(FORMATS)}", 2)
        if not forget and (source is not None or before is not None):
            raise _fail("--source and --before go with --forget", 2)
        try:
            store = Store(home)
        except ListcleanError as exc:
            raise _fail(str(exc), exc.exit_code) from None
        try:
            if forget:
                cut = parse_when(before) if before else None
                started = time.time()
                deleted = store.forget_evidence(source, cut)
                result: dict[str, Any] = {"forgotten": deleted}
                audit_line(
                    "learn --forget",
                    home,
                    {"source": source, "before": before, "forgotten": deleted},
                    started,
                )
            else:
                result = dict(store.evidence_stats())
        finally:
            store.close()
        if json_out:
            typer.echo(json.dumps(result, indent=2))
        elif forget:
            typer.echo(f"forgot {result['forgotten']} learned records")
        else:
            typer.echo(f"{result['records']} records about {result['addresses']} addresses")
            from listclean.evidence import iso

            for row in result["by_source"]:
                typer.echo(
                    f"  {row['source']:<10} {row['kind']:<13} {row['records']:>8} records "
                    f"{row['addresses']:>8} addresses  {iso(row['first'])[:10]} .. "
                    f"{iso(row['last'])[:10]}"
                )
        return
    if source is not None or before is not None:
        raise _fail("--source and --before go with --forget", 2)
    if not files:
        raise _fail("nothing to learn: pass one or more files (or --stats, --forget)", 2)
    try:
        parsed = parse_files(files)
    except ListcleanError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    summary: list[dict[str, Any]] = []
    new = 0
    store_handle: Evidence | None = None
    started = time.time()
    try:
        if not dry_run:
            store_handle = Evidence(Store(home), Vault.open(home))
            for item in parsed:
                new += store_handle.learn(item.events, item.format)
    except ListcleanError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    finally:
        if store_handle is not None:
            store_handle.close()
    for item in parsed:
        counted = Counter(e.kind.value for e in item.events)
        summary.append(
            {
                "file": item.path,
                "format": item.format,
                "records": len(item.events),
                "kinds": dict(sorted(counted.items())),
                "skipped": item.skipped,
            }
        )
    total = sum(s["records"] for s in summary)
    if not dry_run:
        vault = Vault.open(home)
        audit_line(
            "learn",
            home,
            {
                "files": [
                    {
                        "path": s["file"],
                        "sha256": vault.keyed(file_sha256(s["file"])),
                        "format": s["format"],
                        "records": s["records"],
                        "kinds": s["kinds"],
                        "skipped": s["skipped"],
                    }
                    for s in summary
                ],
                "records": total,
                "new": new,
            },
            started,
        )
    if json_out:
        typer.echo(
            json.dumps(
                {"files": summary, "records": total, "new": new, "dry_run": dry_run}, indent=2
            )
        )
        return
    for s in summary:
        kinds = ", ".join(f"{n} {k}" for k, n in s["kinds"].items()) or "no evidence"
        skipped = f"; {s['skipped']} records without an address skipped" if s["skipped"] else ""
        typer.echo(f"{for_terminal(s['file'])}: {s['format']}, {kinds}{skipped}")
    if dry_run:
        typer.echo(f"dry run: {total} records read, nothing stored")
    else:
        typer.echo(f"learned {new} new records ({total - new} already known)")


@app.command()
def compare(
    ours: Annotated[str, typer.Argument(help="A listclean output.")],
    theirs: Annotated[
        str | None,
        typer.Argument(
            help="The same list's export from a paid verifier (ZeroBounce, NeverBounce, "
            "Kickbox, Bouncer, Emailable, MillionVerifier). Optional with --calibrate."
        ),
    ] = None,
    vendor: Annotated[
        str | None, typer.Option(help="Who wrote THEIRS (default: detected from its columns).")
    ] = None,
    their_column: Annotated[
        str | None,
        typer.Option(
            help="The email column of THEIRS (default: detected).",
            callback=_text_option("--their-column"),
        ),
    ] = None,
    disagreements: Annotated[
        str | None,
        typer.Option(
            help="Where to write the rows in disagreement, ready to re-verify "
            "(default: OURS.disagreements.csv; '' for none)."
        ),
    ] = None,
    calibrate: Annotated[
        bool,
        typer.Option(
            "--calibrate",
            metavar=" ",
            help="Observed bounce rate per lc_score band, from what `listclean learn` stored.",
        ),
    ] = False,
    json_out: JsonOut = False,
) -> None:
    """How far listclean and a paid verifier agree, where they differ and, with learned
    bounces, who was right.

    Example: [bold]listclean compare contacts.verified.csv zerobounce_all_results.csv[/]
    """
    import json

    from rich.console import Console

    from listclean import compare as comparing

    if theirs is None and not calibrate:
        raise _fail("pass THEIRS (a verifier's export), or --calibrate", 2)
    settings = Settings(home=default_home())
    try:
        result = comparing.compare(
            ours,
            theirs,
            settings,
            vendor=vendor,
            their_column=their_column,
            disagreements=disagreements,
            calibrate=calibrate,
        )
    except ListcleanError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    if json_out:
        typer.echo(json.dumps(result, indent=2))
        return
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    for item in comparing.render(result):
        console.print(item)


@app.command("diff")
def diff_runs(
    old: Annotated[str, typer.Argument(help="An earlier listclean output of the list.")],
    new: Annotated[str, typer.Argument(help="A later listclean output of the same list.")],
    json_out: JsonOut = False,
) -> None:
    """What changed between two runs of the same list: status changes, new and removed
    addresses, domains that became catch-all, started greylisting or blocking.

    Example: [bold]listclean diff contacts.october.csv contacts.verified.csv[/]
    """
    import json

    from rich.console import Console

    from listclean.rundiff import diff, render

    try:
        result = diff(old, new)
    except ListcleanError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    if json_out:
        typer.echo(json.dumps(result, indent=2))
        return
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    for item in render(result):
        console.print(item)


@app.command("audit")
def audit_log(
    last: Annotated[
        int,
        typer.Option("--last", "-n", help="How many recent runs.", callback=_int_range(1, 100_000)),
    ] = 20,
    json_out: Annotated[
        bool, typer.Option("--json", metavar=" ", help="Print the raw JSON lines.")
    ] = False,
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


def _sigterm(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops as cleanly as Ctrl-C


def command() -> Any:
    """The click command behind `app`, with every flag's help free of a value placeholder:
    Typer shows `<bool>` beside `--help` and the completion flags, which take no value (#20)."""
    cmd = typer.main.get_command(app)

    def quiet(node: Any) -> None:
        # a bare context: make_context would parse, running every option's callback (and the
        # imports behind them) for each command, which cost 0.8 s at start-up
        ctx = node.context_class(node, info_name=node.name or "listclean")
        for param in [*node.params, node.get_help_option(ctx)]:
            if param is not None and getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = " "
        for sub in getattr(node, "commands", {}).values():
            quiet(sub)

    quiet(cmd)
    return cmd


def main() -> None:
    """The console entry point: every failure ends in one line on stderr and exit 1 or 2."""
    import signal

    # typer vendors its own click: take the exception classes from where typer's come from
    errors = sys.modules[typer.BadParameter.__module__]

    signal.signal(signal.SIGTERM, _sigterm)
    try:
        code = command()(standalone_mode=False)
    except BrokenPipeError:  # e.g. `listclean verify x.csv -o - | head`
        sys.exit(0)
    except errors.NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        sys.exit(2)
    except errors.UsageError as exc:
        message = " ".join(exc.format_message().split())
        hint = ""
        if exc.ctx is not None:
            hint = f" (see `{exc.ctx.command_path} --help`)"
        typer.echo(f"listclean: error: {message}{hint}", err=True)
        sys.exit(2)
    except errors.ClickException as exc:
        typer.echo(f"listclean: error: {' '.join(exc.format_message().split())}", err=True)
        sys.exit(exc.exit_code)
    except MemoryError:
        typer.echo(
            "listclean: error: out of memory; a line or cell of the list may be too large "
            "(records up to 32 MiB are read), or give the machine more memory",
            err=True,
        )
        sys.exit(1)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("listclean: interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
