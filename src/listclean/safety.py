"""Neutralising what an attacker controls: one place for every rule, used everywhere.

What an attacker controls (docs/security.md): the list, DNS answers, mail servers' replies,
configuration files in the current directory. Whatever of that reaches

- the SMTP wire: must be one line of printable ASCII (or UTF-8 for SMTPUTF8 addresses)
  without CR, LF or NUL, and only the commands listclean has a use for (never DATA);
- a file listclean writes (CSV, JSONL): no control characters, and no leading = + - @ TAB CR
  that a spreadsheet would run as a formula (OWASP "CSV injection");
- a terminal: no control characters (ESC/OSC sequences), Rich markup escaped;
- a socket's address: globally routable only (``is_public_ip``).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Polars costs ~0.3 s to import: only neutralise_expr needs it (#19 item 5)
    import polars as pl

# --- the SMTP wire --------------------------------------------------------------------------

SMTP_VERBS = frozenset({"EHLO", "HELO", "STARTTLS", "MAIL", "RCPT", "RSET", "NOOP", "QUIT"})
"""Every command listclean may send. DATA, BDAT, VRFY, EXPN, AUTH... are not here: a line that
does not start with one of these is never written (defence in depth against injection)."""

_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOSTNAME = re.compile(rf"^{_LABEL}(\.{_LABEL})*\.?$")
_ADDRESS_LITERAL = re.compile(r"^\[(IPv6:)?([0-9A-Fa-f:.]+)\]$")


def _is_control(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category[0] == "C" or category in ("Zl", "Zp")


class UnsafeValue(ValueError):
    """A value that must not reach the wire, a file or a terminal as it is."""


_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def has_control(text: str) -> bool:
    """Any character of Unicode category C (control, format, surrogate, private, unassigned)
    or a line/paragraph separator. ASCII text (every SMTP line but SMTPUTF8 ones) is checked
    with one regex: its only category-C characters are C0 controls and DEL."""
    if text.isascii():
        return _ASCII_CONTROL.search(text) is not None
    return any(_is_control(ch) for ch in text)


def check_helo(value: str) -> str:
    """EHLO argument: a host name (RFC 5321 §4.1.1.1 Domain) or an address literal."""
    text = value.strip()
    if not text:
        raise UnsafeValue("the EHLO name is empty")
    if has_control(text) or " " in text:
        raise UnsafeValue(
            f"{text!r} contains spaces or control characters; "
            "give a host name like mail.example.com"
        )
    literal = _ADDRESS_LITERAL.match(text)
    if literal:
        try:
            ip = ipaddress.ip_address(literal.group(2))
        except ValueError:
            raise UnsafeValue(f"{text!r} is not a valid address literal") from None
        if (ip.version == 6) != bool(literal.group(1)):
            raise UnsafeValue(f"{text!r}: IPv6 literals are written [IPv6:...]")
        return text
    if len(text) > 253 or not _HOSTNAME.match(text):
        raise UnsafeValue(
            f"{text!r} is not a host name; give one like mail.example.com or an address "
            "literal like [192.0.2.1]"
        )
    return text


def check_mail_from(value: str) -> str:
    """MAIL FROM address: local@domain, ASCII, no control characters, no <>."""
    text = value.strip()
    if not text:
        return text  # empty: derived from the EHLO name
    if has_control(text) or any(ch in text for ch in ' <>"\\,;()[]') or not text.isascii():
        raise UnsafeValue(f"{text!r} is not a plain address; give one like verify@example.com")
    local, at, domain = text.rpartition("@")
    if not at or not local or len(local) > 64 or len(text) > 254:
        raise UnsafeValue(f"{text!r} is not an address; give one like verify@example.com")
    if not _HOSTNAME.match(domain) or "." not in domain.strip("."):
        raise UnsafeValue(f"{text!r}: {domain!r} is not a domain name")
    return text


def check_wire_line(line: str) -> None:
    """Last check before a command is written to a mail server (raises UnsafeValue)."""
    if any(ch in line for ch in "\r\n\x00") or has_control(line):
        raise UnsafeValue("refused to send a command containing control characters")
    verb = line.split(" ", 1)[0].upper()
    if verb not in SMTP_VERBS:
        raise UnsafeValue(f"refused to send the SMTP command {verb[:10]!r}")


# --- files and terminals --------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL_RE = r"[\p{C}\p{Zl}\p{Zp}]"


def neutralise_cell(text: str) -> str:
    """One value listclean writes into a cell: no control character, no formula start."""
    cleaned = "".join(" " if _is_control(ch) else ch for ch in text)
    if cleaned[:1] in FORMULA_START:
        cleaned = "'" + cleaned
    return cleaned


def neutralise_expr(column: str) -> pl.Expr:
    """neutralise_cell as a Polars expression (for whole output columns)."""
    import polars as pl

    cleaned = pl.col(column).str.replace_all(_CONTROL_RE, " ")
    return (
        pl.when(cleaned.str.contains(r"^[=+\-@]"))
        .then(pl.lit("'") + cleaned)
        .otherwise(cleaned)
        .alias(column)
    )


def for_terminal(text: str) -> str:
    """Text for a terminal through Rich: control characters replaced, markup escaped."""
    from rich.markup import escape

    return escape("".join("\ufffd" if _is_control(ch) else ch for ch in text))


# --- addresses we may connect to ------------------------------------------------------------

# Ranges Python's ``is_global`` calls global (or that it does not know) but that no public
# mail server may use: they are deprecated, embed another (maybe private) IPv4 address, or
# are not unicast. IANA IPv4/IPv6 Special-Purpose Address Registries, checked 2026.
_NOT_PUBLIC = tuple(
    ipaddress.ip_network(n)
    for n in (
        "100.64.0.0/10",  # RFC 6598 shared address space (CGNAT)
        "192.0.0.0/24",  # IETF protocol assignments (PCP/TURN anycast are no mail servers)
        "192.88.99.0/24",  # RFC 7526 deprecated 6to4 relay anycast
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved
        "255.255.255.255/32",
        "::/96",  # deprecated IPv4-compatible IPv6 (RFC 4291)
        "::ffff:0:0/96",  # IPv4-mapped
        "64:ff9b::/96",  # RFC 6052 NAT64: embeds an IPv4 address
        "64:ff9b:1::/48",  # RFC 8215 local-use NAT64
        "100::/63",  # RFC 6666 discard-only, RFC 9780 dummy prefix
        "2001::/23",  # IETF protocol assignments (incl. Teredo 2001::/32)
        "2001:db8::/32",  # documentation
        "2002::/16",  # RFC 3056 6to4: embeds an IPv4 address
        "3fff::/20",  # RFC 9637 documentation
        "5f00::/16",  # RFC 9602 SRv6 SIDs
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # deprecated site-local (RFC 3879)
        "ff00::/8",  # multicast
    )
)


def is_public_ip(address: str) -> bool:
    """True only for a globally routable unicast address that listclean may connect to."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0] if "%" in address else address)
    except ValueError:
        return False
    if "%" in address:
        return False  # a scoped (zone-id) address is local by definition
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return False  # ::ffff:0:0/96 in an AAAA record: not globally reachable (IANA)
    if not ip.is_global or ip.is_multicast or ip.is_unspecified or ip.is_loopback:
        return False
    return not any(ip.version == net.version and ip in net for net in _NOT_PUBLIC)
