"""`listclean learn`: every documented format, generated here in its documented shape (no
real person's data: example.org addresses), malformed files, and what `verify` does with it.

Sources of the shapes (docs/learn.md has the full table):
- Postfix delivery lines: postfix.org/OVERVIEW.html and the smtp(8) "dsn=, status=" fields;
  the 550 5.1.1 text is Postfix's own "Recipient address rejected: User unknown in virtual
  mailbox table" (smtpd_recipient_restrictions, postfix.org/VIRTUAL_README.html).
- Exim: "Log files" chapter of the Exim specification (=> ** == flags).
- Amazon SES: docs.aws.amazon.com/ses "Amazon SNS notification contents" (notificationType,
  bounce.bounceType/bounceSubType/bouncedRecipients[].diagnosticCode).
- SendGrid: docs.sendgrid.com "Event Webhook reference" (event, email, timestamp, reason,
  status, type=bounce|blocked).
- Mailchimp: audience export ZIP, cleaned/unsubscribed member CSVs with CLEAN_TIME/UNSUB_TIME.
- Brevo: developers.brevo.com "Weekly event exports" (hard_bounce, soft_bounce, spam ...).
- HubSpot: contact properties "Email hard bounce reason", "Unsubscribed from all email";
  Email Events API types BOUNCE (category UNKNOWN_USER, MAILBOX_FULL ...), SPAMREPORT.
"""

from __future__ import annotations

import json
import mailbox
import sqlite3
import time
from pathlib import Path

import pytest

from listclean.learn import Kind, bounce_kind, detect_and_parse, evidence_key

from .conftest import read_csv, run_cli

POSTFIX_LOG = """\
Nov 28 10:00:00 relay postfix/qmgr[99]: 3E1A2B3C4D: from=<news@sender.example>, size=2048, nrcpt=1 (queue active)
Nov 28 10:00:01 relay postfix/smtp[1234]: 4F1A2B3C4D: to=<ann@example.org>, relay=mx.example.org[192.0.2.10]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=5.1.1, status=bounced (host mx.example.org[192.0.2.10] said: 550 5.1.1 <ann@example.org>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command))
Nov 28 10:00:02 relay postfix/smtp[1234]: 5F1A2B3C4D: to=<bob@example.org>, relay=mx.example.org[192.0.2.10]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=5.7.1, status=bounced (host mx.example.org[192.0.2.10] said: 554 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using zen.spamhaus.org (in reply to RCPT TO command))
Nov 28 10:00:03 relay postfix/smtp[1234]: 6F1A2B3C4D: to=<cat@example.org>, relay=mx.example.org[192.0.2.10]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 1234)
2026-11-28T10:00:04.123456+00:00 relay postfix/smtp[1234]: 7F1A2B3C4D: to=<dan@example.org>, relay=none, delay=30, delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to mx.example.org[192.0.2.10]:25: Connection timed out)
Nov 28 10:00:05 relay postfix/local[77]: 8F1A2B3C4D: to=<eve@relay.example>, relay=local, delay=0.1, dsn=5.1.1, status=bounced (unknown user: "eve")
Nov 28 10:00:06 relay dovecot: imap-login: Login: user=<x>
"""

EXIM_LOG = """\
2026-11-27 09:00:00 1tABCd-000123-AB <= news@sender.example H=localhost [127.0.0.1] P=esmtp S=2048
2026-11-27 09:00:01 1tABCd-000123-AB ** fay@example.org R=dnslookup T=remote_smtp H=mx.example.org [192.0.2.10]: SMTP error from remote mail server after RCPT TO:<fay@example.org>: 550 5.1.1 <fay@example.org>: User unknown
2026-11-27 09:00:02 1tABCd-000123-AB => gus@example.org R=dnslookup T=remote_smtp H=mx.example.org [192.0.2.10] C="250 OK id=1tABCe"
2026-11-27 09:00:03 1tABCd-000123-AB == hal@example.org R=dnslookup T=remote_smtp defer (-44): SMTP error from remote mail server after RCPT TO:<hal@example.org>: 451 4.7.1 Greylisted, try again later
2026-11-27 09:00:04 1tABCd-000123-AB ** ivy@example.org R=dnslookup T=remote_smtp H=mx.example.org [192.0.2.10]: SMTP error from remote mail server after MAIL FROM:<news@sender.example> SIZE=2048: 550 5.7.1 Sender verify failed
2026-11-27 09:00:05 1tABCd-000123-AB Completed
"""


def ses(kind: str, body: dict, wrap: bool = False) -> dict:
    record = {"notificationType": kind, "mail": {"source": "news@sender.example"}, **body}
    if wrap:  # as delivered through an SNS topic
        return {"Type": "Notification", "MessageId": "x", "Message": json.dumps(record)}
    return record


SES_RECORDS = [
    ses(
        "Bounce",
        {
            "bounce": {
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "timestamp": "2026-11-20T12:00:00.000Z",
                "bouncedRecipients": [
                    {
                        "emailAddress": "jo@example.org",
                        "action": "failed",
                        "status": "5.1.1",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                    },
                    {
                        "emailAddress": "kim@example.org",
                        "action": "failed",
                        "status": "5.7.1",
                        "diagnosticCode": "smtp; 550 5.7.1 Message rejected due to content",
                    },
                ],
            }
        },
    ),
    ses(
        "Bounce",
        {
            "bounce": {
                "bounceType": "Permanent",
                "bounceSubType": "NoEmail",
                "timestamp": "2026-11-20T12:01:00.000Z",
                "bouncedRecipients": [{"emailAddress": "lee@example.org"}],
            }
        },
        wrap=True,
    ),
    ses(
        "Bounce",
        {
            "bounce": {
                "bounceType": "Transient",
                "bounceSubType": "MailboxFull",
                "timestamp": "2026-11-20T12:02:00.000Z",
                "bouncedRecipients": [{"emailAddress": "max@example.org"}],
            }
        },
    ),
    ses(
        "Complaint",
        {
            "complaint": {
                "timestamp": "2026-11-21T08:00:00.000Z",
                "complainedRecipients": [{"emailAddress": "ned@example.org"}],
            }
        },
        wrap=True,
    ),
    ses(
        "Delivery",
        {"delivery": {"timestamp": "2026-11-21T09:00:00.000Z", "recipients": ["oli@example.org"]}},
    ),
]

SENDGRID_EVENTS = [
    {
        "email": "pam@example.org",
        "timestamp": 1763900000,
        "event": "bounce",
        "type": "bounce",
        "status": "5.1.1",
        "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
    },
    {
        "email": "quin@example.org",
        "timestamp": 1763900001,
        "event": "bounce",
        "type": "blocked",
        "status": "5.7.1",
        "reason": "550 5.7.1 Blocked by policy",
    },
    {"email": "ray@example.org", "timestamp": 1763900002, "event": "spamreport"},
    {"email": "sue@example.org", "timestamp": 1763900003, "event": "group_unsubscribe"},
    {
        "email": "tom@example.org",
        "timestamp": 1763900004,
        "event": "delivered",
        "response": "250 OK",
    },
    {
        "email": "uma@example.org",
        "timestamp": 1763900005,
        "event": "dropped",
        "reason": "Bounced Address",
    },
    {"email": "vic@example.org", "timestamp": 1763900006, "event": "open"},
]

MAILCHIMP_CLEANED = (
    "Email Address,First Name,Last Name,MEMBER_RATING,OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,"
    "CONFIRM_IP,LATITUDE,LONGITUDE,GMTOFF,DSTOFF,TIMEZONE,CC,REGION,CLEAN_TIME,"
    "CLEAN_CAMPAIGN_TITLE,CLEAN_CAMPAIGN_ID,LEID,EUID,NOTES\n"
    "wes@example.org,Wes,Doe,2,2025-01-02 10:00:00,,2025-01-02 10:01:00,,,,,,,,,"
    "2026-11-10 06:00:00,November news,abc123,1,x1,\n"
    "xia@example.org,Xia,Roe,2,2025-01-02 10:00:00,,2025-01-02 10:01:00,,,,,,,,,"
    "2026-11-11 06:00:00,November news,abc123,2,x2,\n"
)
MAILCHIMP_UNSUB = (
    "Email Address,First Name,MEMBER_RATING,OPTIN_TIME,UNSUB_TIME,UNSUB_CAMPAIGN_TITLE,"
    "UNSUB_CAMPAIGN_ID,UNSUB_REASON,UNSUB_REASON_OTHER\n"
    "yan@example.org,Yan,1,2025-01-02 10:00:00,2026-11-12 07:00:00,November news,abc123,"
    "NORMAL,\n"
)
HUBSPOT_CONTACTS = (
    "Record ID,First Name,Email,Email hard bounce reason,Unsubscribed from all email,"
    "Last Modified Date\n"
    "101,Zed,zed@example.org,Unknown user,false,2026-11-15 10:00\n"
    "102,Abe,abe@example.org,Mailbox full,false,2026-11-15 10:00\n"
    "103,Bea,bea@example.org,,true,2026-11-15 10:00\n"
)
HUBSPOT_EVENTS = (
    "recipient,type,category,response,created\n"
    "cal@example.org,BOUNCE,UNKNOWN_USER,550 5.1.1 no such user,1763800000000\n"
    "deb@example.org,BOUNCE,POLICY,550 5.7.1 rejected by policy,1763800000000\n"
    "eli@example.org,SPAMREPORT,,,1763800000000\n"
    "flo@example.org,DELIVERED,,250 OK,1763800000000\n"
)
BREVO_EVENTS = (
    "email;event;date;reason\n"
    "gia@example.org;hard_bounce;2026-11-16T10:00:00+01:00;\n"
    "hop@example.org;soft_bounce;2026-11-16T10:00:00+01:00;mailbox full\n"
    "ian@example.org;spam;2026-11-16T10:00:00+01:00;\n"
    "jay@example.org;unsubscribe;2026-11-16T10:00:00+01:00;\n"
    "kay@example.org;delivered;2026-11-16T10:00:00+01:00;\n"
)
SENDGRID_BOUNCES = (
    "email,created,reason,status\n"
    "liz@example.org,1763700000,550 5.1.1 The email account that you tried to reach does not exist,5.1.1\n"
    "mo@example.org,1763700000,554 5.7.1 Client host rejected: listed at zen.spamhaus.org,5.7.1\n"
)


def dsn_message(recipients: list[tuple[str, str, str]], date: str) -> bytes:
    """An RFC 3464 delivery status notification, laid out as Postfix's bounce(8) writes one."""
    blocks = "".join(
        f"Final-Recipient: rfc822; {rcpt}\nOriginal-Recipient: rfc822;{rcpt}\n"
        f"Action: failed\nStatus: {status}\nRemote-MTA: dns; mx.example.org\n"
        f"Diagnostic-Code: smtp; {diag}\n\n"
        for rcpt, status, diag in recipients
    )
    return (
        "From: MAILER-DAEMON@relay.example (Mail Delivery System)\n"
        "To: news@sender.example\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        f"Date: {date}\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B0"\n\n'
        "--B0\nContent-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n"
        "This is the mail system at host relay.example.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients.\n\n"
        "--B0\nContent-Description: Delivery report\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; relay.example\nArrival-Date: " + date + "\n\n" + blocks + "--B0--\n"
    ).encode()


def kinds(path: Path) -> tuple[str, dict[str, str]]:
    parsed = detect_and_parse(str(path))
    return parsed.format, {e.address: e.kind.value for e in parsed.events}


def test_postfix_log(tmp_path: Path) -> None:
    p = tmp_path / "mail.log"
    p.write_text(POSTFIX_LOG)
    fmt, got = kinds(p)
    assert fmt == "postfix"
    assert got == {
        "ann@example.org": "hard_bounce",
        "bob@example.org": "soft_bounce",  # a blocklist refusal is about us, not the mailbox
        "cat@example.org": "delivered",
        "dan@example.org": "soft_bounce",
        "eve@relay.example": "hard_bounce",  # local(8): dsn 5.1.1 "unknown user"
    }


def test_exim_log(tmp_path: Path) -> None:
    p = tmp_path / "mainlog"
    p.write_text(EXIM_LOG)
    fmt, got = kinds(p)
    assert fmt == "exim"
    assert got == {
        "fay@example.org": "hard_bounce",
        "gus@example.org": "delivered",
        "hal@example.org": "soft_bounce",
        "ivy@example.org": "soft_bounce",  # sender verification: about our MAIL FROM
    }


@pytest.mark.parametrize("layout", ["array", "lines", "single"])
def test_ses_notifications(tmp_path: Path, layout: str) -> None:
    p = tmp_path / "ses.json"
    if layout == "array":
        p.write_text(json.dumps(SES_RECORDS, indent=1))
        expect = {
            "jo@example.org": "hard_bounce",
            "kim@example.org": "soft_bounce",  # permanent, but about content
            "lee@example.org": "hard_bounce",  # NoEmail, no text: SES's word
            "max@example.org": "soft_bounce",
            "ned@example.org": "complaint",
            "oli@example.org": "delivered",
        }
    elif layout == "lines":
        p.write_text("\n".join(json.dumps(r) for r in SES_RECORDS[2:]) + "\n")
        expect = {
            "max@example.org": "soft_bounce",
            "ned@example.org": "complaint",
            "oli@example.org": "delivered",
        }
    else:
        p.write_text(json.dumps(SES_RECORDS[1]))
        expect = {"lee@example.org": "hard_bounce"}
    fmt, got = kinds(p)
    assert fmt == "ses" and got == expect


def test_sendgrid_events_and_bounce_list(tmp_path: Path) -> None:
    p = tmp_path / "events.json"
    p.write_text(json.dumps(SENDGRID_EVENTS))
    fmt, got = kinds(p)
    assert fmt == "sendgrid"
    assert got == {
        "pam@example.org": "hard_bounce",
        "quin@example.org": "soft_bounce",
        "ray@example.org": "complaint",
        "sue@example.org": "unsubscribed",
        "tom@example.org": "delivered",
        "uma@example.org": "hard_bounce",
    }
    c = tmp_path / "bounces.csv"
    c.write_text(SENDGRID_BOUNCES)
    fmt, got = kinds(c)
    assert fmt == "sendgrid"
    assert got == {"liz@example.org": "hard_bounce", "mo@example.org": "soft_bounce"}


def test_mailchimp_exports(tmp_path: Path) -> None:
    c = tmp_path / "cleaned_members_export_abc.csv"
    c.write_text(MAILCHIMP_CLEANED)
    u = tmp_path / "unsubscribed_members_export_abc.csv"
    u.write_text(MAILCHIMP_UNSUB)
    assert kinds(c) == (
        "mailchimp",
        {"wes@example.org": "hard_bounce", "xia@example.org": "hard_bounce"},
    )
    assert kinds(u) == ("mailchimp", {"yan@example.org": "unsubscribed"})
    parsed = detect_and_parse(str(c))
    assert time.strftime("%Y-%m-%d", time.gmtime(parsed.events[0].at)) == "2026-11-10"


def test_hubspot_exports(tmp_path: Path) -> None:
    c = tmp_path / "contacts.csv"
    c.write_text(HUBSPOT_CONTACTS)
    assert kinds(c) == (
        "hubspot",
        {
            "zed@example.org": "hard_bounce",
            "abe@example.org": "soft_bounce",
            "bea@example.org": "unsubscribed",
        },
    )
    e = tmp_path / "events.csv"
    e.write_text(HUBSPOT_EVENTS)
    assert kinds(e) == (
        "hubspot",
        {
            "cal@example.org": "hard_bounce",
            "deb@example.org": "soft_bounce",
            "eli@example.org": "complaint",
            "flo@example.org": "delivered",
        },
    )


def test_brevo_events(tmp_path: Path) -> None:
    p = tmp_path / "brevo.csv"
    p.write_text(BREVO_EVENTS)
    assert kinds(p) == (
        "brevo",
        {
            "gia@example.org": "hard_bounce",
            "hop@example.org": "soft_bounce",
            "ian@example.org": "complaint",
            "jay@example.org": "unsubscribed",
            "kay@example.org": "delivered",
        },
    )


def test_mbox_and_maildir_of_bounces(tmp_path: Path) -> None:
    messages = [
        dsn_message(
            [
                (
                    "nia@example.org",
                    "5.1.1",
                    "550 5.1.1 <nia@example.org>: Recipient address rejected: User unknown",
                ),
                (
                    "oz@example.org",
                    "5.7.1",
                    "554 5.7.1 Client host [198.51.100.7] blocked using zen.spamhaus.org",
                ),
            ],
            "Mon, 23 Nov 2026 10:00:00 +0000",
        ),
        dsn_message(
            [("pia@example.org", "4.2.2", "452 4.2.2 Mailbox full")],
            "Tue, 24 Nov 2026 10:00:00 +0000",
        ),
    ]
    box_path = tmp_path / "bounces.mbox"
    box = mailbox.mbox(box_path)
    for m in messages:
        box.add(m)
    box.close()
    fmt, got = kinds(box_path)
    assert fmt == "mbox"
    assert got["nia@example.org"] == "hard_bounce"
    assert got["oz@example.org"] == "soft_bounce"
    assert got.get("pia@example.org", "soft_bounce") == "soft_bounce"
    md_path = tmp_path / "Maildir"
    md = mailbox.Maildir(md_path)
    for m in messages:
        md.add(m)
    md.close()
    fmt, got2 = kinds(md_path)
    assert fmt == "maildir" and got2 == got
    one = tmp_path / "bounce.eml"
    one.write_bytes(messages[0])
    fmt, got3 = kinds(one)
    assert fmt == "dsn" and got3["nia@example.org"] == "hard_bounce"


@pytest.mark.parametrize(
    ("text", "status", "provider_hard", "kind"),
    [
        ("550 5.1.1 <a@x.org>: Recipient address rejected: User unknown", "", False, Kind.HARD),
        ("554 5.7.1 Client host rejected: blocked using zen.spamhaus.org", "", False, Kind.SOFT),
        ("550 5.7.1 SPF check failed", "", True, Kind.SOFT),
        ("552 5.2.2 Mailbox full", "", True, Kind.SOFT),
        ("550 5.2.1 The email account that you tried to reach is disabled", "", True, Kind.HARD),
        ("421 4.7.0 Try again later, closing connection", "", False, Kind.SOFT),
        ("smtp; 550 Requested action not taken: mailbox unavailable", "5.0.0", True, Kind.HARD),
        ("", "", True, Kind.HARD),
        ("", "", False, Kind.SOFT),
        ("unknown user", "5.1.1", False, Kind.HARD),
        ("Message rejected due to content", "5.6.0", True, Kind.SOFT),
    ],
)
def test_hard_only_when_the_mailbox_is_gone(
    text: str, status: str, provider_hard: bool, kind: Kind
) -> None:
    assert bounce_kind(text, status, "a@x.org", provider_hard) is kind


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[{"email": "a@example.org", "event": "bounce"}\n', "not JSON"),
        ('{"foo": 1}\n{"bar": 2}\n', "neither"),
        ('{"email": "a@example.org", "event": "bounce"}\nnot json\n', "line 2 is not JSON"),
        ("name,phone\nann,123\n", "not an evidence format"),
        ("just some words\n", "not a format"),
        ("", "empty"),
        ("email,event\na@example.org,teleported\n", "does not know"),
    ],
)
def test_malformed_files_are_one_line_errors_and_nothing_is_learned(
    tmp_path: Path, content: str, message: str
) -> None:
    good = tmp_path / "mail.log"
    good.write_text(POSTFIX_LOG)
    bad = tmp_path / "bad.txt"
    bad.write_text(content)
    proc = run_cli("learn", str(good), str(bad))
    err = proc.stderr.decode()
    assert proc.returncode != 0
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    stats = json.loads(run_cli("learn", "--stats", "--json").stdout)
    assert stats["records"] == 0  # the good file was not half-ingested either


def test_binary_file_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "x.bin"
    p.write_bytes(b"\x00\x01\x02" * 100)
    proc = run_cli("learn", str(p))
    assert proc.returncode != 0 and b"binary" in proc.stderr


def test_no_plaintext_address_at_rest(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_text(POSTFIX_LOG)
    assert run_cli("learn", str(log)).returncode == 0
    home = Path(__import__("os").environ["LISTCLEAN_HOME"])
    for f in home.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert b"example.org" not in data and b"relay.example" not in data, f
    db = sqlite3.connect(home / "store.sqlite")
    assert db.execute("SELECT COUNT(*) FROM evidence").fetchone()[0] == 5


def test_stats_forget_by_source_date_and_all(tmp_path: Path) -> None:
    (tmp_path / "mail.log").write_text(POSTFIX_LOG)
    (tmp_path / "ses.json").write_text(json.dumps(SES_RECORDS))
    proc = run_cli("learn", str(tmp_path / "mail.log"), str(tmp_path / "ses.json"))
    assert proc.returncode == 0, proc.stderr
    assert b"learned 11 new records" in proc.stdout
    again = run_cli("learn", str(tmp_path / "mail.log"))
    assert b"learned 0 new records (5 already known)" in again.stdout
    stats = json.loads(run_cli("learn", "--stats", "--json").stdout)
    assert stats["records"] == 11
    assert {r["source"] for r in stats["by_source"]} == {"postfix", "ses"}
    gone = run_cli("learn", "--forget", "--source", "ses")
    assert gone.returncode == 0 and b"forgot 6" in gone.stdout
    # the postfix lines carry no year: this year's Nov 28 (or last year's, if in the future)
    assert b"forgot 0" in run_cli("learn", "--forget", "--before", "2000-01-01").stdout
    assert b"forgot 5" in run_cli("learn", "--forget").stdout
    assert json.loads(run_cli("learn", "--stats", "--json").stdout)["records"] == 0
    bad = run_cli("learn", "--forget", "--source", "fax")
    assert bad.returncode == 2 and b"unknown --source" in bad.stderr
    bad = run_cli("learn", "--forget", "--before", "last tuesday")
    assert bad.returncode == 2 and b"not a date" in bad.stderr


def test_dry_run_stores_nothing(tmp_path: Path) -> None:
    (tmp_path / "mail.log").write_text(POSTFIX_LOG)
    proc = run_cli("learn", "--dry-run", str(tmp_path / "mail.log"))
    assert proc.returncode == 0 and b"nothing stored" in proc.stdout
    assert json.loads(run_cli("learn", "--stats", "--json").stdout)["records"] == 0


def test_evidence_key_matches_case_and_idn() -> None:
    assert evidence_key("Ann@Example.ORG") == evidence_key("ann@example.org")
    assert evidence_key("ann@xn--bcher-kva.example") == evidence_key("ann@bücher.example")


def test_offline_verify_uses_learned_evidence(tmp_path: Path) -> None:
    (tmp_path / "mail.log").write_text(POSTFIX_LOG)
    (tmp_path / "ses.json").write_text(json.dumps(SES_RECORDS))
    assert run_cli("learn", str(tmp_path / "mail.log"), str(tmp_path / "ses.json")).returncode == 0
    src = tmp_path / "list.csv"
    src.write_text(
        "name,email\nA,ANN@example.org\nB,bob@example.org\nC,cat@example.org\n"
        "N,ned@example.org\nZ,zoe@example.org\nX,not-an-address\n"
    )
    out = tmp_path / "out.csv"
    proc = run_cli("verify", str(src), "-o", str(out), "--offline")
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(out)
    col = {n: i for i, n in enumerate(rows[0])}
    got = {r[0]: r for r in rows[1:]}
    assert [r[:2] for r in rows[1:]] == [
        line.split(",") for line in src.read_text().splitlines()[1:]
    ]
    assert got["A"][col["lc_reason"]] == "previously_bounced"
    assert got["A"][col["lc_status"]] == "undeliverable"
    assert got["A"][col["lc_score"]] == "1"
    assert got["B"][col["lc_reason"]] == "not_probed"  # soft: the status stays
    assert "soft_bounced" in got["B"][col["lc_flags"]]
    assert "previously_delivered" in got["C"][col["lc_flags"]]
    assert got["C"][col["lc_score"]] == "85"
    assert got["N"][col["lc_status"]] == "unknown" and "complained" in got["N"][col["lc_flags"]]
    assert got["N"][col["lc_score"]] == "5"
    assert got["Z"][col["lc_flags"]] == "" and got["Z"][col["lc_score"]] == "50"
    assert got["X"][col["lc_reason"]] == "invalid_syntax" and got["X"][col["lc_score"]] == ""
    report = json.loads((tmp_path / "out.report.json").read_text())
    assert report["learned"]["addresses_matched"] == 4
    # --no-evidence: the same run as if nothing had been learned
    plain = tmp_path / "plain.csv"
    assert (
        run_cli("verify", str(src), "-o", str(plain), "--offline", "--no-evidence").returncode == 0
    )
    assert all(r[col["lc_reason"]] != "previously_bounced" for r in read_csv(plain)[1:])


def test_score_expression_matches_the_formula_for_every_reason_and_flag_set() -> None:
    """The Polars lc_score column and checks.score.score agree on every reason with every
    combination of the flags that move it (2^6 sets x 24 reasons)."""
    import itertools

    import polars as pl

    from listclean.checks.score import score
    from listclean.fastpath import _score_expr
    from listclean.model import Reason

    flags = ["role", "complained", "unsubscribed", "previously_delivered", "soft_bounced", "free"]
    rows = [
        (reason.value, ";".join(combo))
        for reason in Reason
        for n in range(len(flags) + 1)
        for combo in itertools.combinations(flags, n)
    ]
    frame = pl.DataFrame(rows, schema=["lc_reason", "_flags"], orient="row")
    got = frame.select(_score_expr()).to_series().to_list()
    want = []
    for reason, text in rows:
        value = score(Reason(reason), text.split(";") if text else [])
        want.append("" if value is None else str(value))
    assert got == want


def test_a_busy_syslog_is_still_a_postfix_log(tmp_path: Path) -> None:
    """/var/log/mail.log mixes daemons: its first delivery line may come after thousands of
    others (and those lines have commas in them: it is no CSV)."""
    noise = "".join(
        f"Nov 28 09:{i // 60 % 60:02d}:{i % 60:02d} relay dovecot: imap-login: Login: "
        f"user=<u{i}>, method=PLAIN, rip=192.0.2.{i % 250}, lip=192.0.2.1, mpid={i}\n"
        for i in range(3000)
    )
    log = tmp_path / "mail.log"
    log.write_text(noise + POSTFIX_LOG)
    fmt, got = kinds(log)
    assert fmt == "postfix" and got["ann@example.org"] == "hard_bounce"
    quiet = tmp_path / "quiet.log"
    quiet.write_text(noise)
    proc = run_cli("learn", str(quiet))
    assert proc.returncode != 0 and b"without Postfix or Exim delivery lines" in proc.stderr


def test_learn_and_forget_leave_an_audit_line_without_addresses(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_text(POSTFIX_LOG)
    assert run_cli("learn", str(log)).returncode == 0
    assert run_cli("learn", "--forget", "--source", "postfix").returncode == 0
    runs = json.loads(
        "["
        + ",".join(line for line in run_cli("audit", "--json").stdout.decode().splitlines() if line)
        + "]"
    )
    learned, forgot = runs[-2], runs[-1]
    assert learned["command"] == "learn" and learned["new"] == 5
    assert learned["files"][0]["format"] == "postfix"
    assert learned["files"][0]["sha256"].startswith("hmac-sha256:")  # keyed, not the plain hash
    assert forgot == {**forgot, "command": "learn --forget", "source": "postfix", "forgotten": 5}
    home = Path(__import__("os").environ["LISTCLEAN_HOME"])
    assert b"example.org" not in (home / "audit.jsonl").read_bytes()
