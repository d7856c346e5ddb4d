"""Typo suggestions for domains: advice only, never a change of verdict.

Distance is optimal string alignment (an adjacent transposition counts one edit), at most 1
edit for short domains and 2 for longer ones, against a table of popular mailbox domains.

gmial.com -> gmail.com (transposition), yaho.com -> yahoo.com (deletion),
gmail.con -> gmail.com (mistyped TLD), example.cmo -> example.com.
"""

from __future__ import annotations

from functools import lru_cache

from listclean.checks.lists import popular_domains

# Mistyped TLDs that are not themselves delegated TLDs (so never a real domain).
# ".co", ".om", ".cm", ".ne" are real ccTLDs and therefore not listed here.
TLD_FIXES: dict[str, str] = {
    "con": "com", "cmo": "com", "ocm": "com", "comm": "com", "coom": "com", "ccom": "com",
    "vom": "com", "xom": "com", "cpm": "com", "cim": "com", "colm": "com", "comn": "com",
    "nte": "net", "ner": "net", "nett": "net", "met": "net",
    "ogr": "org", "orgg": "org", "rog": "org", "prg": "org",
}  # fmt: skip

MIN_LENGTH = 6  # shorter domains are too close to each other to guess


def distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (adjacent transpositions count 1), capped at limit+1."""
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


@lru_cache(maxsize=1)
def _profiles() -> tuple[tuple[str, int, frozenset[str]], ...]:
    """(domain, length, set of its characters) for the popular domains, in popularity order."""
    return tuple((d, len(d), frozenset(d)) for d in popular_domains())


@lru_cache(maxsize=65536)
def suggest_domain(domain: str) -> str:
    """The domain the user probably meant, or "" when there is no confident guess."""
    domain = domain.lower().rstrip(".")
    popular = popular_domains()
    if domain in popular or len(domain) < MIN_LENGTH:
        return ""
    head, dot, tld = domain.rpartition(".")
    fixed = f"{head}.{TLD_FIXES[tld]}" if dot and tld in TLD_FIXES else ""
    if fixed in popular:
        return fixed
    limit = 1 if len(domain) < 9 else 2
    # Cheap necessary conditions before the exact distance: an edit changes the length by at
    # most one and adds/removes at most one distinct character on each side.
    length, chars = len(domain), set(domain)
    best, best_d = "", limit + 1
    for candidate, cand_len, cand_chars in _profiles():  # popularity order: first of equals wins
        if abs(cand_len - length) > limit or len(chars ^ cand_chars) > 2 * limit:
            continue
        d = distance(domain, candidate, limit)
        if d < best_d:
            best, best_d = candidate, d
    if best:
        return best
    return fixed
