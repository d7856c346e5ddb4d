"""Syntax and normalization, delegated to email-validator (RFC 5321/5322/6531 rules).

Pure: no DNS (check_deliverability=False). The normalized form is email-validator's:
domain lower-cased and IDNA-normalized, local part as typed.
"""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email


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
    try:
        info = validate_email(
            text,
            check_deliverability=False,
            allow_smtputf8=True,
            test_environment=allow_test_domains,
        )
    except EmailNotValidError as exc:
        return SyntaxProblem(str(exc))
    return Address(
        normalized=info.normalized,
        local=info.local_part,
        domain=info.domain,
        ascii_domain=info.ascii_domain,
        smtputf8=bool(info.smtputf8),
    )
