"""Real replies the outside review's corpus showed misread (#14), each with its source.

Rule: undeliverable only when the reply positively says the mailbox does not exist or is
disabled; replies about our IP (ip_blocked), our sender (sender_rejected), rates or the
server are unknown."""

from __future__ import annotations

import pytest

from listclean.checks.replies import classify
from listclean.model import Reason

GMAIL = "support.google.com/a/answer/3726730 (Gmail SMTP errors and codes)"
ROWS = [
    # (source, code, reply text after the code, address probed, expected)
    (
        GMAIL,
        550,
        "5.2.1 The user you are trying to contact is receiving mail at a rate that "
        "prevents additional messages from being delivered. - gsmtp",
        "ann@gmail.com",
        Reason.SMTP_ERROR,
    ),
    (
        GMAIL,
        450,
        "4.2.1 The user you are trying to contact is receiving mail too quickly. "
        "Please resend your message at a later time.",
        "ann@gmail.com",
        Reason.GREYLISTED,
    ),
    (
        GMAIL,
        550,
        "5.1.1 The email account that you tried to reach does not exist. - gsmtp",
        "ann@gmail.com",
        Reason.MAILBOX_NOT_FOUND,
    ),
    (
        GMAIL,
        550,
        "5.2.1 The email account that you tried to reach is disabled. - gsmtp",
        "ann@gmail.com",
        Reason.MAILBOX_DISABLED,
    ),
    (
        GMAIL,
        421,
        "4.7.0 Our system has detected an unusual rate of unsolicited mail "
        "originating from your IP address.",
        "ann@gmail.com",
        Reason.RATE_LIMITED,
    ),
    (
        GMAIL,
        550,
        "5.7.1 Our system has detected an unusual rate of unsolicited mail "
        "originating from your IP address. To protect our users from spam, mail sent from your "
        "IP address has been blocked.",
        "ann@gmail.com",
        Reason.IP_BLOCKED,
    ),
    (
        GMAIL,
        550,
        "5.7.26 This mail has been blocked because the sender is unauthenticated.",
        "ann@gmail.com",
        Reason.SENDER_REJECTED,
    ),
    (
        "learn.microsoft.com: Fix email delivery issues for error code 5.4.1 in Exchange Online "
        "(Directory-Based Edge Blocking)",
        550,
        "5.4.1 Recipient address rejected: Access denied. AS(201806281)",
        "ann@contoso.com",
        Reason.MAILBOX_NOT_FOUND,
    ),
    (
        "senders.yahooinc.com/smtp-error-codes (Yahoo)",
        554,
        "delivery error: dd This user doesn't have a yahoo.com account (ann@yahoo.com) [0] - "
        "mta1234.mail.bf1.yahoo.com",
        "ann@yahoo.com",
        Reason.MAILBOX_NOT_FOUND,
    ),
    (
        "qmail + vpopmail/chkuser (qmail-smtpd patch), as seen in sisimai's set-of-emails",
        511,
        "sorry, no mailbox here by that name (#5.1.1 - chkuser)",
        "ann@example.net",
        Reason.MAILBOX_NOT_FOUND,
    ),
    (
        "qmail (qmail-remote bounce text, 'not our user')",
        551,
        "not our user",
        "ann@example.net",
        Reason.MAILBOX_NOT_FOUND,
    ),
    (
        "Exim specification, ch. 'Access control lists': verify = sender",
        550,
        "Sender verify failed",
        "ann@example.net",
        Reason.SENDER_REJECTED,
    ),
    (
        "Exim/cPanel: the multi-line sender-verification failure",
        550,
        "Verification failed for <verify@probe.example> Unrouteable address Sender verify failed",
        "ann@example.net",
        Reason.SENDER_REJECTED,
    ),
    (
        "Postfix postconf(5): reject_unknown_client_hostname, unknown_client_reject_code",
        450,
        "4.7.25 Client host rejected: cannot find your hostname, [192.0.2.1]",
        "ann@example.net",
        Reason.IP_BLOCKED,
    ),
    (
        "Postfix postconf(5): reject_unknown_reverse_client_hostname",
        450,
        "4.7.25 Client host rejected: cannot find your reverse hostname, [192.0.2.1]",
        "ann@example.net",
        Reason.IP_BLOCKED,
    ),
    (
        "Postfix postconf(5): reject_invalid_helo_hostname",
        501,
        "5.5.2 <localhost.localdomain>: Helo command rejected: Invalid name",
        "ann@example.net",
        Reason.SENDER_REJECTED,
    ),
    (
        "a hosting provider's per-sender limit (#14's review)",
        550,
        "5.1.1 <verify@probe.example> has sent to too many recipients this hour",
        "ann@example.net",
        Reason.RATE_LIMITED,
    ),
]


@pytest.mark.parametrize(("source", "code", "text", "address", "expected"), ROWS)
def test_sourced_reply(source: str, code: int, text: str, address: str, expected: Reason) -> None:
    assert classify(code, text, address) is expected, source
