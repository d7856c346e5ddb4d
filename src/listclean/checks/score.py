"""`lc_score`: 0-100, higher is safer to send. The formula is docs/score.md; pure.

A base per reason (what the verdict says about the mailbox and how sure it is), minus a
penalty for a role account (shared inboxes bounce and complain more). Invalid syntax has no
score (empty), as the contract says.
"""

from __future__ import annotations

from listclean.model import Reason

BASE: dict[Reason, int] = {
    Reason.ACCEPTED: 95,
    # risky: the server cannot say, or the mailbox is of doubtful use
    Reason.ACCEPT_ALL: 60,
    Reason.MAILBOX_FULL: 35,
    Reason.DISPOSABLE: 15,
    # unknown: no answer about the mailbox; what we know of the domain still counts
    Reason.PROVIDER_UNVERIFIABLE: 65,
    Reason.GREYLISTED: 55,
    Reason.NOT_PROBED: 50,
    Reason.RATE_LIMITED: 50,
    Reason.IP_BLOCKED: 50,
    Reason.SENDER_REJECTED: 50,
    Reason.SMTP_ERROR: 45,
    Reason.SMTP_TIMEOUT: 40,
    Reason.SMTP_UNREACHABLE: 35,
    Reason.DNS_TIMEOUT: 30,
    Reason.DNS_ERROR: 25,
    Reason.PRIVATE_MX: 10,
    # undeliverable: a server or DNS said no
    Reason.MAILBOX_DISABLED: 3,
    Reason.MAILBOX_NOT_FOUND: 2,
    Reason.NO_MAIL_SERVER: 1,
    Reason.NULL_MX: 0,
    Reason.INVALID_DOMAIN: 0,
}
ROLE_PENALTY = 10
NO_SCORE = (Reason.INVALID_SYNTAX,)


def score(reason: Reason, role: bool = False) -> int | None:
    """The score of one verdict (None: no score, for invalid syntax)."""
    if reason in NO_SCORE:
        return None
    return max(0, min(100, BASE.get(reason, 40) - (ROLE_PENALTY if role else 0)))
