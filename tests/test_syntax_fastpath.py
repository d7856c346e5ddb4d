"""The ASCII fast path must agree with email-validator exactly (verdict and normalized form),
plus the one rule listclean adds: RFC 5321 §4.5.3.1.1's 64-octet local part, which
email-validator enforces only when it checks deliverability."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st

from listclean.checks import syntax

ATEXT = "abcxyzABCXYZ0189!#$%&'*+/=?^_`{|}~-."
DOMAIN_CHARS = "abcxyzABCXYZ0189-."


def reference(text: str, allow_test: bool) -> tuple[str, str, bool] | None:
    try:
        info = validate_email(
            text, check_deliverability=False, allow_smtputf8=True, test_environment=allow_test
        )
    except EmailNotValidError:
        return None
    if len(info.local_part.encode("utf-8")) > 64:
        return None
    return info.normalized, info.ascii_domain, bool(info.smtputf8)


def ours(text: str, allow_test: bool) -> tuple[str, str, bool] | None:
    parsed = syntax.parse(text, allow_test_domains=allow_test)
    if isinstance(parsed, syntax.SyntaxProblem):
        return None
    return parsed.normalized, parsed.ascii_domain, parsed.smtputf8


LOCAL = st.text(alphabet=ATEXT, min_size=0, max_size=70)
DOMAIN = st.text(alphabet=DOMAIN_CHARS, min_size=0, max_size=30) | st.sampled_from(
    [
        "Example.COM",
        "a.b",
        "x.test",
        "x.local",
        "xn--bcher-kva.de",
        "ab--cd.com",
        "a.123",
        "a.c0m",
        "-a.com",
        "a-.com",
        "a..com",
        ".a.com",
        "a.com.",
        "a" * 64 + ".com",
        "sub." * 60 + "com",
        "a.b1",
        "a.1b",
    ]
)


@settings(max_examples=3000, deadline=None)
@given(LOCAL, DOMAIN, st.booleans())
@example("ann", "Example.COM", False)
@example("a" * 64, "example.com", False)
@example("a" * 65, "example.com", False)
@example("x", "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 58 + ".com", False)
@example("Ann.O'Brien+tag", "GMAIL.com", False)
def test_fast_path_matches_email_validator(local: str, domain: str, allow_test: bool) -> None:
    text = f"{local}@{domain}"
    assert ours(text, allow_test) == reference(text, allow_test)


def test_fast_path_is_taken_for_plain_addresses() -> None:
    assert syntax._fast_parse("Ann.Smith@Example.COM") is not None
    assert syntax._fast_parse("ann@xn--bcher-kva.de") is None  # IDNA: email-validator decides
    assert syntax._fast_parse('"a b"@example.com') is None
