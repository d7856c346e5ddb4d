"""Typo suggestions for domains: advice only, never a change of verdict.

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


def _deletions(word: str, depth: int) -> set[str]:
    """Every string reachable from word by deleting up to depth characters."""
    out = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


@lru_cache(maxsize=1)
def _index() -> dict[str, tuple[str, ...]]:
    """Symmetric-delete index: two strings within edit distance 2 share a 2-deletion."""
    index: dict[str, list[str]] = {}
    for domain in popular_domains():
        for key in _deletions(domain, 2):
            index.setdefault(key, []).append(domain)
    return {k: tuple(v) for k, v in index.items()}


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
    index = _index()
    candidates = {c for key in _deletions(domain, limit) for c in index.get(key, ())}
    best, best_d, best_rank = "", limit + 1, len(popular)
    for candidate in candidates:
        d = distance(domain, candidate, limit)
        rank = popular.index(candidate)  # the more popular of equals wins
        if d <= limit and (d < best_d or (d == best_d and rank < best_rank)):
            best, best_d, best_rank = candidate, d, rank
    if best:
        return best
    return fixed


def suggest_address(local: str, domain: str, known: bool = False) -> str:
    """Full corrected address, or "" (known: the domain is a known provider, leave it)."""
    if known:
        return ""
    fixed = suggest_domain(domain)
    return f"{local}@{fixed}" if fixed else ""
