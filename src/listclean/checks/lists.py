"""Domain and local-part lists: disposable, free providers, role accounts."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path

from listclean.errors import InputError


def _bundled(name: str) -> list[str]:
    text = resources.files("listclean").joinpath("data", name).read_text(encoding="utf-8")
    return _lines(text.splitlines())


def _lines(lines: Iterable[str]) -> list[str]:
    out = []
    for line in lines:
        item = line.split("#", 1)[0].strip().lower()
        if item:
            out.append(item)
    return out


def read_domain_file(path: Path) -> frozenset[str]:
    """A user-supplied list: one domain per line, '#' comments allowed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read domain list {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"domain list {path} is not UTF-8 text; save it as UTF-8") from None
    return frozenset(d.rstrip(".") for d in _lines(text.splitlines()))


def _suffixes(domain: str) -> list[str]:
    """a.b.example.com -> [a.b.example.com, b.example.com, example.com, com]."""
    parts = domain.split(".")
    return [".".join(parts[i:]) for i in range(len(parts))]


@lru_cache(maxsize=1)
def disposable_domains() -> frozenset[str]:
    from disposable_email_domains import blocklist

    return frozenset(d.lower() for d in blocklist)


def disposable_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("disposable-email-domains")
    except PackageNotFoundError:  # pragma: no cover - it is a dependency
        return "unknown"


class DomainLists:
    """Disposable detection with user extras and an allow list (allow wins)."""

    def __init__(
        self, extra_disposable: frozenset[str] = frozenset(), allow: frozenset[str] = frozenset()
    ) -> None:
        self._disposable = disposable_domains() | extra_disposable
        self._allow = allow
        self._free_exact, self._free_prefix = _free_patterns()
        self._seen: dict[str, bool] = {}

    def is_disposable(self, domain: str) -> bool:
        """Matches the domain or any parent (x.mailinator.com is mailinator.com)."""
        hit = self._seen.get(domain)
        if hit is None:
            hit = self._seen[domain] = self._is_disposable(domain)
            if len(self._seen) > 100_000:
                self._seen.clear()
        return hit

    def _is_disposable(self, domain: str) -> bool:
        suffixes = _suffixes(domain)
        if any(s in self._allow for s in suffixes):
            return False
        return any(s in self._disposable for s in suffixes)

    def is_free(self, domain: str) -> bool:
        if domain in self._free_exact:
            return True
        head, _, rest = domain.partition(".")
        return bool(rest) and head in self._free_prefix and _is_public_suffix_like(rest)


def _is_public_suffix_like(rest: str) -> bool:
    """yahoo.* matches yahoo.com, yahoo.co.uk, yahoo.fr, not yahoo.example.org."""
    parts = rest.split(".")
    if len(parts) == 1:
        return True
    return (
        len(parts) == 2
        and parts[0] in {"co", "com", "net", "org", "ne", "or"}
        and len(parts[1]) == 2
    )


@lru_cache(maxsize=1)
def _free_patterns() -> tuple[frozenset[str], frozenset[str]]:
    exact, prefix = set(), set()
    for item in _bundled("free.txt"):
        if item.endswith(".*"):
            prefix.add(item[:-2])
        else:
            exact.add(item)
    return frozenset(exact), frozenset(prefix)


@lru_cache(maxsize=1)
def role_locals() -> frozenset[str]:
    return frozenset(_bundled("roles.txt"))


def is_role(local: str) -> bool:
    """info@, Sales+eu@, NO-REPLY@ ... case-insensitive, ignoring a +tag."""
    base = local.split("+", 1)[0].lower()
    return base in role_locals()


@lru_cache(maxsize=1)
def popular_domains() -> tuple[str, ...]:
    return tuple(_bundled("popular.txt"))
