"""The vocabulary that reaches the output: statuses, reasons, flags and per-address results.

These words are a stable contract (see docs/design.md): scripts grep for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum


class Status(StrEnum):
    DELIVERABLE = "deliverable"
    UNDELIVERABLE = "undeliverable"
    RISKY = "risky"
    UNKNOWN = "unknown"


class Reason(StrEnum):
    # deliverable
    ACCEPTED = "accepted"
    # undeliverable
    INVALID_SYNTAX = "invalid_syntax"
    INVALID_DOMAIN = "invalid_domain"
    NO_MAIL_SERVER = "no_mail_server"
    NULL_MX = "null_mx"
    MAILBOX_NOT_FOUND = "mailbox_not_found"
    MAILBOX_DISABLED = "mailbox_disabled"
    PREVIOUSLY_BOUNCED = "previously_bounced"  # the user's own bounce logs (listclean learn)
    # risky
    ACCEPT_ALL = "accept_all"
    DISPOSABLE = "disposable"
    MAILBOX_FULL = "mailbox_full"
    # unknown
    DNS_ERROR = "dns_error"
    DNS_TIMEOUT = "dns_timeout"
    SMTP_UNREACHABLE = "smtp_unreachable"
    SMTP_TIMEOUT = "smtp_timeout"
    GREYLISTED = "greylisted"
    RATE_LIMITED = "rate_limited"
    IP_BLOCKED = "ip_blocked"
    SENDER_REJECTED = "sender_rejected"
    PROVIDER_UNVERIFIABLE = "provider_unverifiable"
    SMTP_ERROR = "smtp_error"
    PRIVATE_MX = "private_mx"
    NOT_PROBED = "not_probed"


STATUS_OF: dict[Reason, Status] = {
    Reason.ACCEPTED: Status.DELIVERABLE,
    Reason.INVALID_SYNTAX: Status.UNDELIVERABLE,
    Reason.INVALID_DOMAIN: Status.UNDELIVERABLE,
    Reason.NO_MAIL_SERVER: Status.UNDELIVERABLE,
    Reason.NULL_MX: Status.UNDELIVERABLE,
    Reason.MAILBOX_NOT_FOUND: Status.UNDELIVERABLE,
    Reason.MAILBOX_DISABLED: Status.UNDELIVERABLE,
    Reason.PREVIOUSLY_BOUNCED: Status.UNDELIVERABLE,
    Reason.ACCEPT_ALL: Status.RISKY,
    Reason.DISPOSABLE: Status.RISKY,
    Reason.MAILBOX_FULL: Status.RISKY,
}
# Every other reason is unknown: a failure to reach or read a server is never undeliverable.


def status_of(reason: Reason) -> Status:
    return STATUS_OF.get(reason, Status.UNKNOWN)


class Flag(StrEnum):
    ROLE = "role"
    FREE = "free"
    DISPOSABLE = "disposable"
    ACCEPT_ALL = "accept_all"
    SMTPUTF8 = "smtputf8"
    DUPLICATE = "duplicate"
    # learned evidence (listclean learn): flags never change the status
    COMPLAINED = "complained"
    UNSUBSCRIBED = "unsubscribed"
    PREVIOUSLY_DELIVERED = "previously_delivered"
    SOFT_BOUNCED = "soft_bounced"


# Output columns appended after the original ones, in this order (the contract).
LC_COLUMNS: tuple[str, ...] = (
    "lc_status",
    "lc_reason",
    "lc_normalized",
    "lc_flags",
    "lc_suggestion",
    "lc_mx",
    "lc_smtp_code",
    "lc_smtp_reply",
    "lc_duplicate_of",
    "lc_provider",
    "lc_score",
    "lc_checked_at",
)
LC_COLUMNS_V01 = LC_COLUMNS[:9]  # what listclean 0.1 wrote: re-verifying its output replaces them


@dataclass(frozen=True, slots=True)
class Result:
    """The verdict for one unique address (row-level facts such as duplicates live elsewhere)."""

    reason: Reason
    normalized: str = ""
    flags: tuple[Flag, ...] = ()
    suggestion: str = ""
    mx: str = ""
    smtp_code: str = ""
    smtp_reply: str = ""
    provider: str = ""  # lc_provider: recognised from the MX host ("" unknown)
    score: int | None = field(default=None, compare=False)  # lc_score (None: invalid syntax)
    checked_at: str = field(default="", compare=False)  # lc_checked_at: the deciding probe
    detail: str = field(default="", compare=False)  # human message for the report
    domain: str = field(default="", compare=False)  # A-label domain, what DNS is asked for

    @property
    def status(self) -> Status:
        return status_of(self.reason)

    def evolve(self, **changes: object) -> Result:
        return replace(self, **changes)  # type: ignore[arg-type]
