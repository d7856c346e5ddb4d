"""Tables for the pure offline checks."""

from __future__ import annotations

import pytest

from listclean.checks import syntax
from listclean.checks.lists import DomainLists, is_role
from listclean.checks.typo import suggest_domain, suggest_domains
from listclean.checks.verdict import OfflineChecker
from listclean.model import Flag, Reason, Status


@pytest.fixture(scope="module")
def checker() -> OfflineChecker:
    return OfflineChecker(DomainLists())


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Ann@GMAIL.COM", "Ann@gmail.com"),  # domain lower-cased, local part as typed
        ("  bob@example.com\t", "bob@example.com"),  # surrounding whitespace trimmed
        ("jürgen@müller-bau.de", "jürgen@müller-bau.de"),  # SMTPUTF8 allowed
        ("ann@BÜCHER.de", "ann@bücher.de"),
    ],
)
def test_normalization(checker: OfflineChecker, raw: str, normalized: str) -> None:
    result = checker.check(raw)
    assert result.normalized == normalized
    assert result.reason is Reason.NOT_PROBED
    assert result.status is Status.UNKNOWN


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "plainaddress",
        "@example.com",
        "ann@",
        "a..b@example.com",
        "ann@localhost",
        "ann smith@example.com",
        "ann@@example.com",
        "ann@exa_mple.com",
        "ann@[127.0.0.1]",
        "ann@b.test",
    ],
)
def test_invalid_syntax(checker: OfflineChecker, raw: str) -> None:
    result = checker.check(raw)
    assert result.reason is Reason.INVALID_SYNTAX
    assert result.status is Status.UNDELIVERABLE
    assert result.normalized == ""
    assert result.detail  # email-validator's human message, kept for the report


def test_test_tld_needs_flag() -> None:
    strict = OfflineChecker(DomainLists())
    lab = OfflineChecker(DomainLists(), allow_test_domains=True)
    assert strict.check("ann@shop.test").reason is Reason.INVALID_SYNTAX
    assert lab.check("ann@shop.test").reason is Reason.NOT_PROBED


def test_smtputf8_flag(checker: OfflineChecker) -> None:
    assert Flag.SMTPUTF8 in checker.check("李@example.cn").flags
    assert Flag.SMTPUTF8 not in checker.check("li@example.cn").flags
    parsed = syntax.parse("ann@bücher.de")
    assert isinstance(parsed, syntax.Address) and parsed.ascii_domain == "xn--bcher-kva.de"


@pytest.mark.parametrize(
    ("domain", "disposable"),
    [
        ("mailinator.com", True),
        ("x.mailinator.com", True),  # subdomains match too
        ("deep.inbox.mailinator.com", True),
        ("yopmail.com", True),
        ("gmail.com", False),
        ("rnailinator.org", False),  # a suffix match is on label boundaries
        ("yopmail.com.example.net", False),
        ("example.org", False),
    ],
)
def test_disposable(domain: str, disposable: bool) -> None:
    assert DomainLists().is_disposable(domain) is disposable


def test_disposable_extra_and_allow_lists() -> None:
    lists = DomainLists(
        extra_disposable=frozenset({"burner.example"}), allow=frozenset({"mailinator.com"})
    )
    assert lists.is_disposable("burner.example")
    assert lists.is_disposable("a.burner.example")
    assert not lists.is_disposable("mailinator.com")  # allow wins
    assert not lists.is_disposable("x.mailinator.com")


def test_disposable_verdict(checker: OfflineChecker) -> None:
    result = checker.check("ann@mailinator.com")
    assert (result.status, result.reason) == (Status.RISKY, Reason.DISPOSABLE)
    assert Flag.DISPOSABLE in result.flags


@pytest.mark.parametrize(
    ("local", "role"),
    [
        ("info", True),
        ("INFO", True),
        ("sales+eu", True),
        ("No-Reply", True),
        ("postmaster", True),
        ("support", True),
        ("ann", False),
        ("information.ann", False),
        ("salesman", False),
    ],
)
def test_role(local: str, role: bool) -> None:
    assert is_role(local) is role


def test_role_is_a_flag_not_a_verdict(checker: OfflineChecker) -> None:
    result = checker.check("info@acme-widgets.com")
    assert Flag.ROLE in result.flags
    assert result.reason is Reason.NOT_PROBED


@pytest.mark.parametrize(
    ("domain", "free"),
    [
        ("gmail.com", True),
        ("yahoo.co.uk", True),
        ("yahoo.fr", True),
        ("hotmail.de", True),
        ("outlook.com", True),
        ("gmx.net", True),
        ("web.de", True),
        ("mail.ru", True),
        ("icloud.com", True),
        ("proton.me", True),
        ("yandex.ru", True),
        ("acme-widgets.com", False),
        ("yahoo.example.org", False),
        ("gmail.com.evil.org", False),
    ],
)
def test_free(domain: str, free: bool) -> None:
    assert DomainLists().is_free(domain) is free


@pytest.mark.parametrize(
    ("domain", "suggestion"),
    [
        ("gmial.com", "gmail.com"),
        ("gmail.con", "gmail.com"),
        ("hotmial.com", "hotmail.com"),
        ("yaho.com", "yahoo.com"),
        ("outlok.com", "outlook.com"),
        ("gmaill.con", "gmail.com"),  # two edits on a long name
        ("example.cmo", "example.com"),  # TLD typo on any domain
        ("acme.nte", "acme.net"),
        ("gmail.com", ""),
        ("acme-widgets.com", ""),
        ("me.co", ""),  # too short to guess
        ("email.cz", ""),  # a real domain two edits away on a short name: no guess
    ],
)
def test_typo(domain: str, suggestion: str) -> None:
    assert suggest_domain(domain) == suggestion


def test_typo_suggestion_is_full_address_and_advice_only(checker: OfflineChecker) -> None:
    result = checker.check("Ann@gmial.com")
    assert result.suggestion == "Ann@gmail.com"
    typo = checker.check("bob@yaho.com")
    assert typo.suggestion == "bob@yahoo.com"
    assert typo.reason is Reason.NOT_PROBED  # the verdict is not changed by a suggestion
    assert checker.check("ann@gmail.com").suggestion == ""
    assert checker.check("ann@yahoo.es").suggestion == ""  # a real free provider


def test_typo_repairs_invalid_domain(checker: OfflineChecker) -> None:
    result = checker.check("ann@gmailcom")
    assert result.reason is Reason.INVALID_SYNTAX
    assert result.suggestion == "ann@gmail.com"


def distance(a: str, b: str, limit: int) -> int:
    """The reference: optimal-string-alignment distance, capped at limit+1, in plain Python.

    (This was listclean's own implementation until RapidFuzz's OSA replaced it; it stays
    here as the definition the library is checked against.)
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


@pytest.mark.parametrize(
    ("a", "b", "d"),
    [("abc", "abc", 0), ("abc", "acb", 1), ("abc", "ab", 1), ("abc", "xyz", 3), ("", "ab", 2)],
)
def test_distance(a: str, b: str, d: int) -> None:
    assert distance(a, b, 5) == d


def _brute_force_suggestion(domain: str) -> str:
    """The definition: the most popular domain within the edit limit (no shortcuts)."""
    from listclean.checks.lists import popular_domains
    from listclean.checks.typo import MIN_LENGTH, TLD_FIXES

    popular = popular_domains()
    if domain in popular or len(domain) < MIN_LENGTH:
        return ""
    head, dot, tld = domain.rpartition(".")
    fixed = f"{head}.{TLD_FIXES[tld]}" if dot and tld in TLD_FIXES else ""
    if fixed in popular:
        return fixed
    limit = 1 if len(domain) < 9 else 2
    best, best_d = "", limit + 1
    for candidate in popular:
        d = distance(domain, candidate, limit)
        if d < best_d:
            best, best_d = candidate, d
    return best or fixed


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def near_popular(draw: st.DrawFn) -> str:
    from listclean.checks.lists import popular_domains

    word = list(draw(st.sampled_from(popular_domains())))
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["sub", "ins", "del", "swap"]))
        i = draw(st.integers(0, max(0, len(word) - 1)))
        ch = draw(st.sampled_from("abcdeilmnorstuvxy.-"))
        if op == "sub" and word:
            word[i] = ch
        elif op == "ins":
            word.insert(i, ch)
        elif op == "del" and len(word) > 1:
            del word[i]
        elif op == "swap" and i + 1 < len(word):
            word[i], word[i + 1] = word[i + 1], word[i]
    return "".join(word)


@settings(max_examples=1500, deadline=None)
@given(near_popular())
def test_typo_prefilter_matches_brute_force(domain: str) -> None:
    assert suggest_domain.__wrapped__(domain) == _brute_force_suggestion(domain.lower().rstrip("."))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(near_popular(), st.text("abcdegilmnorstuy.-", max_size=14)), max_size=90))
def test_batched_suggestions_match_one_by_one(domains: list[str]) -> None:
    """The distance matrix over a batch gives each domain what the reference gives it alone."""
    assert suggest_domains(domains) == [
        _brute_force_suggestion(d.lower().rstrip(".")) for d in domains
    ]
