"""Typo suggestions for domains: advice only, never a change of verdict.

Distance is optimal string alignment (an adjacent transposition counts one edit), at most 1
edit for short domains and 2 for longer ones, against a table of popular mailbox domains. The
most popular domain within the limit wins; a mistyped TLD (``TLD_FIXES``) is the fallback.

gmial.com -> gmail.com (transposition), yaho.com -> yahoo.com (deletion),
gmail.con -> gmail.com (mistyped TLD), example.cmo -> example.com.
"""

from __future__ import annotations

from collections.abc import Sequence
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
SMALL_BATCH = 64  # up to this many domains, pair by pair; above, one distance matrix


def suggest_domains(domains: Sequence[str]) -> list[str]:
    """``suggest_domain`` for many domains at once (one C++ distance matrix, not a loop).

    Distance is RapidFuzz's optimal string alignment (OSA): the same definition the
    hand-written Python loop used (tests/test_checks.py keeps that loop as the reference and
    compares), at ~1 µs instead of ~50 µs a domain (docs/benchmarks.md, #19).
    """
    popular = popular_domains()
    known = frozenset(popular)
    out = [""] * len(domains)
    todo: list[int] = []
    names: list[str] = []
    limits: list[int] = []
    for i, raw in enumerate(domains):
        domain = raw.lower().rstrip(".")
        if domain in known or len(domain) < MIN_LENGTH:
            continue
        head, dot, tld = domain.rpartition(".")
        fixed = f"{head}.{TLD_FIXES[tld]}" if dot and tld in TLD_FIXES else ""
        out[i] = fixed  # kept when no popular domain is close enough
        if fixed in known:
            continue
        todo.append(i)
        names.append(domain)
        limits.append(1 if len(domain) < 9 else 2)
    if todo and len(todo) <= SMALL_BATCH:  # a few domains: no NumPy (0.1 s to import)
        from rapidfuzz.distance import OSA

        for i, name, limit in zip(todo, names, limits, strict=True):
            best, best_d = "", limit + 1
            for candidate in popular:  # popularity order: the first of equals wins
                d = OSA.distance(name, candidate, score_cutoff=limit)
                if d < best_d:
                    best, best_d = candidate, d
            if best:
                out[i] = best
    elif todo:
        import numpy as np
        from rapidfuzz.distance import OSA
        from rapidfuzz.process import cdist

        matrix = cdist(names, popular, scorer=OSA.distance, score_cutoff=2, dtype=np.int32)
        best = matrix.argmin(axis=1)  # the first of equals: popularity order
        close = matrix.min(axis=1) <= np.asarray(limits)
        for i, pick, ok in zip(todo, best.tolist(), close.tolist(), strict=True):
            if ok:
                out[i] = popular[pick]
    return out


@lru_cache(maxsize=65536)
def suggest_domain(domain: str) -> str:
    """The domain the user probably meant, or "" when there is no confident guess."""
    return suggest_domains([domain])[0]
