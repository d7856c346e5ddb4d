"""`lc_score`: 0-100, higher is safer to send. The formula is docs/score.md; pure.

A base per reason (what the verdict says about the mailbox and how sure it is), then the
flags: a role account loses 10 (shared inboxes bounce and complain more); learned evidence
(``listclean learn``) moves it: a delivery after any hard bounce lifts an uncertain verdict to
at least 85, a recent soft bounce costs 15, and a complaint or an unsubscribe caps it at 5
(sending there is what hurts a sender most). Invalid syntax has no score (empty).
"""

from __future__ import annotations

from collections.abc import Iterable

from listclean.model import Flag, Reason

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
    # undeliverable: a server, DNS or the user's own bounces said no
    Reason.MAILBOX_DISABLED: 3,
    Reason.MAILBOX_NOT_FOUND: 2,
    Reason.PREVIOUSLY_BOUNCED: 1,
    Reason.NO_MAIL_SERVER: 1,
    Reason.NULL_MX: 0,
    Reason.INVALID_DOMAIN: 0,
}
ROLE_PENALTY = 10
DELIVERED_FLOOR = 85  # delivered before (and not bounced since): at least this
SOFT_PENALTY = 15
OPT_OUT_CAP = 5  # complained or unsubscribed: at most this
NO_SCORE = (Reason.INVALID_SYNTAX,)
# A delivery is evidence for an uncertain verdict, never against a "no" from the server now.
NO_LIFT = frozenset(
    {
        Reason.DISPOSABLE,
        Reason.MAILBOX_DISABLED,
        Reason.MAILBOX_NOT_FOUND,
        Reason.PREVIOUSLY_BOUNCED,
        Reason.NO_MAIL_SERVER,
        Reason.NULL_MX,
        Reason.INVALID_DOMAIN,
        Reason.INVALID_SYNTAX,
    }
)


def score(reason: Reason, flags: Iterable[str] = ()) -> int | None:
    """The score of one verdict (None: no score, for invalid syntax)."""
    if reason in NO_SCORE:
        return None
    names = set(flags)
    value = BASE.get(reason, 40)
    if Flag.ROLE.value in names:
        value -= ROLE_PENALTY
    if Flag.PREVIOUSLY_DELIVERED.value in names and reason not in NO_LIFT:
        value = max(value, DELIVERED_FLOOR)
    if Flag.SOFT_BOUNCED.value in names:
        value -= SOFT_PENALTY
    if names & {Flag.COMPLAINED.value, Flag.UNSUBSCRIBED.value}:
        value = min(value, OPT_OUT_CAP)
    return max(0, min(100, value))
