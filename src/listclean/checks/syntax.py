"""Syntax and normalization, delegated to email-validator (RFC 5321/5322/6531 rules).

Pure: no DNS (check_deliverability=False). The normalized form is email-validator's:
domain lower-cased and IDNA-normalized, local part as typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

# The common shape, plain ASCII "local@domain.tld", decided without email-validator (which
# costs ~60 µs per address here). It only says yes where email-validator provably says the
# same, and gives the same normalized form (tests/test_syntax_fastpath.py checks this
# differentially); anything else (quotes, IDNA, "xn--", "--" in a label, special-use TLDs,
# long names) goes to email-validator.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_FAST = re.compile(
    rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)
MAX_LOCAL_OCTETS = 64
SPECIAL_TLDS = {"arpa", "invalid", "local", "localhost", "onion", "test"}


@dataclass(frozen=True, slots=True)
class Address:
    normalized: str  # email-validator's normalized form (Unicode domain)
    local: str
    domain: str  # normalized Unicode domain, lower case
    ascii_domain: str  # A-label form, what DNS is asked for
    smtputf8: bool  # the local part needs SMTPUTF8 (RFC 6531)


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    message: str  # email-validator's human message, kept for the report


def parse(raw: str, *, allow_test_domains: bool = False) -> Address | SyntaxProblem:
    """Validate one address. Surrounding whitespace is trimmed; nothing else is repaired."""
    text = raw.strip()
    if not text:
        return SyntaxProblem("The email address is empty.")
    fast = _fast_parse(text, allow_test_domains)
    if fast is not None:
        return fast
    try:
        info = validate_email(
            text,
            check_deliverability=False,
            allow_smtputf8=True,
            test_environment=allow_test_domains,
        )
    except EmailNotValidError as exc:
        return SyntaxProblem(str(exc))
    octets = len(info.local_part.encode("utf-8"))
    if octets > MAX_LOCAL_OCTETS:
        # RFC 5321 §4.5.3.1.1; email-validator only enforces it when checking deliverability
        return SyntaxProblem(
            f"The part before the @-sign is too long ({octets} octets; at most "
            f"{MAX_LOCAL_OCTETS} are allowed)."
        )
    return Address(
        normalized=info.normalized,
        local=info.local_part,
        domain=info.domain,
        ascii_domain=info.ascii_domain,
        smtputf8=bool(info.smtputf8),
    )


def _fast_parse(text: str, allow_test_domains: bool = False) -> Address | None:
    match = _FAST.fullmatch(text)
    if match is None or len(text) > 254:
        return None
    domain = match.group(1).lower()
    local = text[: match.start(1) - 1]
    if len(local) > 64 or len(domain) > 253 or "--" in domain:
        return None
    tld = domain.rpartition(".")[2]
    if tld in SPECIAL_TLDS and not (tld == "test" and allow_test_domains):
        return None
    return Address(
        normalized=f"{local}@{domain}",
        local=local,
        domain=domain,
        ascii_domain=domain,
        smtputf8=False,
    )
