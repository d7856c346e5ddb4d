"""The offline verdict for one address: syntax, lists, typo. Pure."""

from __future__ import annotations

from listclean.checks import syntax
from listclean.checks.lists import DomainLists, is_role
from listclean.checks.typo import suggest_domain, suggest_domains
from listclean.model import Flag, Reason, Result


class OfflineChecker:
    """Turns a raw cell into a Result without any I/O."""

    def __init__(self, lists: DomainLists, *, allow_test_domains: bool = False) -> None:
        self.lists = lists
        self.allow_test_domains = allow_test_domains
        self._domains: dict[str, tuple[tuple[Flag, ...], tuple[Flag, ...], str]] = {}

    def parse(self, raw: str) -> syntax.Address | syntax.SyntaxProblem:
        return syntax.parse(raw, allow_test_domains=self.allow_test_domains)

    def check(self, raw: str) -> Result:
        parsed = self.parse(raw)
        if isinstance(parsed, syntax.SyntaxProblem):
            return Result(
                Reason.INVALID_SYNTAX,
                suggestion=self._repair(raw),
                detail=parsed.message,
            )
        return self.check_address(parsed)

    def check_address(self, addr: syntax.Address) -> Result:
        free, disposable, fixed = self._domain_facts(addr.domain)
        flags: tuple[Flag, ...] = ()
        if is_role(addr.local):
            flags = (Flag.ROLE,)
        flags += free + disposable
        if addr.smtputf8:
            flags += (Flag.SMTPUTF8,)
        return Result(
            Reason.DISPOSABLE if disposable else Reason.NOT_PROBED,
            normalized=addr.normalized,
            flags=flags,
            suggestion=f"{addr.local}@{fixed}" if fixed else "",
            domain=addr.ascii_domain,
        )

    def _domain_facts(self, domain: str) -> tuple[tuple[Flag, ...], tuple[Flag, ...], str]:
        """(free flag, disposable flag, suggested domain) for a domain, computed once."""
        facts = self._domains.get(domain)
        return facts if facts is not None else self.domain_facts_many([domain])[0]

    def domain_facts_many(
        self, domains: list[str]
    ) -> list[tuple[tuple[Flag, ...], tuple[Flag, ...], str]]:
        """``_domain_facts`` for a batch's distinct domains; new ones computed together."""
        new = [d for d in domains if d not in self._domains]
        if new:
            if len(self._domains) + len(new) > 200_000:
                self._domains.clear()
                new = domains
            free = [self.lists.is_free(d) for d in new]
            fixes = suggest_domains([d for d, f in zip(new, free, strict=True) if not f])
            it = iter(fixes)
            for domain, is_free in zip(new, free, strict=True):
                self._domains[domain] = (
                    (Flag.FREE,) if is_free else (),
                    (Flag.DISPOSABLE,) if self.lists.is_disposable(domain) else (),
                    "" if is_free else next(it),
                )
        return [self._domains[d] for d in domains]

    def _repair(self, raw: str) -> str:
        """For an invalid address with one '@', suggest a fixed domain if that makes it valid."""
        text = raw.strip()
        if text.count("@") != 1:
            return ""
        local, domain = text.split("@")
        fixed = suggest_domain(domain)
        if not fixed:
            return ""
        candidate = self.parse(f"{local}@{fixed}")
        return candidate.normalized if isinstance(candidate, syntax.Address) else ""


# DNS outcomes that settle an address whatever else is known about it.
DNS_FINAL = {Reason.INVALID_DOMAIN, Reason.NULL_MX, Reason.NO_MAIL_SERVER}


def needs_dns(result: Result) -> bool:
    return bool(result.domain) and result.reason in (Reason.NOT_PROBED, Reason.DISPOSABLE)


def apply_dns(result: Result, reason: Reason | None, mx: str) -> Result:
    """Merge a domain's DNS outcome (None: has mail hosts) into an offline result.

    A domain that cannot receive mail settles the verdict (even for a disposable domain);
    a DNS failure only makes a not-yet-decided address unknown with that reason; a disposable
    domain stays risky/disposable otherwise.
    """
    if not needs_dns(result):
        return result
    if reason in DNS_FINAL:
        return result.evolve(reason=reason, mx=mx)
    if result.reason is Reason.DISPOSABLE or reason is None:
        return result.evolve(mx=mx)
    return result.evolve(reason=reason, mx=mx)


def apply_smtp(
    result: Result, reason: Reason, code: str, reply: str, host: str, accept_all: bool
) -> Result:
    """Merge an RCPT probe into a result that DNS left undecided.

    An accepted address on a domain that also accepted a random local part is only
    risky/accept_all (the real reply is kept as evidence).
    """
    if result.reason is not Reason.NOT_PROBED:
        return result
    flags = result.flags
    if reason is Reason.ACCEPTED and accept_all:
        reason = Reason.ACCEPT_ALL
        flags = (*flags, Flag.ACCEPT_ALL)
    return result.evolve(
        reason=reason, smtp_code=code, smtp_reply=reply, mx=host or result.mx, flags=flags
    )
