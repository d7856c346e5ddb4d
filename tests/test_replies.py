"""The reply table: one row per real server reply, with where it comes from."""

from __future__ import annotations

import pytest

from listclean.checks.replies import classify, enhanced_code, provider_unverifiable, sanitize_reply
from listclean.model import Reason

ROWS = [
    # (source, code, text, reason)
    (
        "Postfix relay_recipient_maps",
        550,
        "5.1.1 <nobody@lab.test>: Recipient address rejected: User unknown in relay recipient table",
        Reason.MAILBOX_NOT_FOUND,
    ),
    (
        "Postfix local_recipient_maps",
        550,
        "5.1.1 <x@example.org>: Recipient address rejected: User unknown in local recipient table",
        Reason.MAILBOX_NOT_FOUND,
    ),
    (
        "Gmail",
        550,
        "5.1.1 The email account that you tried to reach does not exist. Please try double-checking",
        Reason.MAILBOX_NOT_FOUND,
    ),
    (
        "Microsoft 365",
        550,
        "5.4.1 Recipient address rejected: Access denied. AS(201806281) [DB5EUR03FT012.eop]",
        Reason.MAILBOX_NOT_FOUND,
    ),  # Directory-Based Edge Blocking: the recipient is not in the tenant (learn.microsoft.com,
    # "Fix email delivery issues for error code 5.4.1 in Exchange Online"; #14)
    (
        "Outlook.com",
        550,
        "5.5.0 Requested action not taken: mailbox unavailable (S2017062302)",
        Reason.MAILBOX_NOT_FOUND,
    ),
    ("Exim", 550, "Unrouteable address", Reason.MAILBOX_NOT_FOUND),
    ("Exim (no enhanced code)", 550, "No such user here", Reason.MAILBOX_NOT_FOUND),
    (
        "qmail",
        553,
        "sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
        Reason.SMTP_ERROR,
    ),
    ("Sendmail", 550, "5.1.1 <x@example.com>... User unknown", Reason.MAILBOX_NOT_FOUND),
    (
        "Gmail disabled",
        550,
        "5.2.1 The email account that you tried to reach is disabled. Learn more at",
        Reason.MAILBOX_DISABLED,
    ),
    ("Yandex", 550, "Account is disabled", Reason.MAILBOX_DISABLED),
    ("testbed Postfix access map", 550, "5.2.1 Mailbox disabled", Reason.MAILBOX_DISABLED),
    (
        "Gmail over quota",
        452,
        "4.2.2 The email account that you tried to reach is over quota. Please direct",
        Reason.MAILBOX_FULL,
    ),
    (
        "Postfix virtual quota patch",
        552,
        "5.2.2 <x@example.com>: Mailbox full",
        Reason.MAILBOX_FULL,
    ),
    ("Exchange", 552, "5.2.2 mailbox full", Reason.MAILBOX_FULL),
    (
        "Dovecot LMTP relayed",
        452,
        "4.2.2 Mailbox is full / Blocks limit exceeded / Inode limit",
        Reason.MAILBOX_FULL,
    ),
    (
        "Postfix postgrey",
        450,
        "4.2.0 <x@lab.test>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/",
        Reason.GREYLISTED,
    ),
    (
        "Gmail greylisting",
        450,
        "4.2.1 The user you are trying to contact is receiving mail at a rate that prevents",
        Reason.GREYLISTED,
    ),  # temporary and per mailbox: parked and retried like greylisting
    (
        "Mimecast greylist",
        451,
        "Internal resource temporarily unavailable - https://community.mimecast.com",
        Reason.GREYLISTED,
    ),
    ("Exim greylistd", 451, "Please try again later", Reason.GREYLISTED),
    ("generic defer", 451, "4.3.0 Local error in processing", Reason.GREYLISTED),
    (
        "Postfix 421 anvil",
        421,
        "4.7.0 mx.lab.test Error: too many connections from 127.0.0.1",
        Reason.RATE_LIMITED,
    ),
    (
        "Postfix too many errors",
        421,
        "4.7.0 mx.lab.test Error: too many errors",
        Reason.RATE_LIMITED,
    ),
    (
        "Yahoo deferral",
        421,
        "4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume",
        Reason.RATE_LIMITED,
    ),
    (
        "Spamhaus via Postfix reject_rbl_client",
        554,
        "5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
        Reason.IP_BLOCKED,
    ),
    (
        "Outlook.com blocklist",
        550,
        "5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your Internet "
        "service provider since part of their network is on our block list (S3150)",
        Reason.IP_BLOCKED,
    ),
    (
        "Gmail reputation",
        550,
        "5.7.1 Our system has detected that this message is likely unsolicited mail. To reduce "
        "the amount of spam sent to Gmail, this message has been blocked.",
        Reason.IP_BLOCKED,
    ),
    (
        "Proofpoint",
        554,
        "Blocked - see https://ipcheck.proofpoint.com/?ip=192.0.2.1",
        Reason.IP_BLOCKED,
    ),
    ("aiosmtpd test server", 554, "5.7.1 Client host rejected: poor reputation", Reason.IP_BLOCKED),
    (
        "Postfix check_recipient_access REJECT",
        554,
        "5.7.1 <x@lab.test>: Recipient address rejected: Access denied",
        Reason.SMTP_ERROR,
    ),
    ("Postfix relay denied", 454, "4.7.1 <x@other.test>: Relay access denied", Reason.GREYLISTED),
    ("accepted", 250, "2.1.5 Ok", Reason.ACCEPTED),
    ("will forward", 251, "User not local; will forward to <x@example.org>", Reason.ACCEPTED),
    ("cannot verify", 252, "2.0.0 Cannot VRFY user", Reason.SMTP_ERROR),
    ("syntax error", 501, "5.1.3 Bad recipient address syntax", Reason.MAILBOX_NOT_FOUND),
    (
        "bad sender",
        553,
        "5.1.8 <verify@example.test>: Sender address rejected: Domain not found",
        Reason.SENDER_REJECTED,
    ),  # about our MAIL FROM, never the mailbox (#14: the new sender_rejected reason)
    ("command unrecognized", 500, "5.5.1 Error: command not recognized", Reason.SMTP_ERROR),
]


@pytest.mark.parametrize(
    ("source", "code", "text", "reason"), ROWS, ids=[f"{r[0]}-{r[1]}" for r in ROWS]
)
def test_reply_table(source: str, code: int, text: str, reason: Reason) -> None:
    assert classify(code, text) is reason


def test_enhanced_code() -> None:
    assert enhanced_code("5.1.1 <x>: nope") == "5.1.1"
    assert enhanced_code("4.7.0 slow") == "4.7.0"
    assert enhanced_code("User unknown") == ""


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("5.1.1 fine", "5.1.1 fine"),
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+cmd", "'+cmd"),
        ("-1", "'-1"),
        ("@SUM(1)", "'@SUM(1)"),
        ("a\x00b\x1b[31mc\r\nd", "a b [31mc d"),
        ("x" * 1000, "x" * 199 + "…"),
    ],
)
def test_sanitize(raw: str, safe: str) -> None:
    assert sanitize_reply(raw) == safe


def test_provider_unverifiable() -> None:
    assert provider_unverifiable("mta5.am0.yahoodns.net")
    assert provider_unverifiable("mx-aol.mail.gm0.yahoodns.net.")
    assert not provider_unverifiable("gmail-smtp-in.l.google.com")
    assert not provider_unverifiable("notyahoodns.net")
