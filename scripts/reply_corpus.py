"""Build tests/data/replies/sisimai.jsonl from sisimai's public bounce corpus (#14).

    python scripts/reply_corpus.py SET_OF_EMAILS_GIT_DIR RB_SISIMAI_GIT_DIR > rows.jsonl

Reads, without checking anything out, two git snapshots: sisimai/set-of-emails (real bounce
messages, addresses anonymised by sisimai) and sisimai/rb-sisimai (its tests, which say which
reason each message's first recipient bounced for). For every message whose delivery status
notification carries an SMTP reply (``Diagnostic-Code: smtp; 550 ...``) it writes one row: the
source file and commit, the provider (sisimai's engine name), the SMTP stage when the message
says it, the reply code and text, and sisimai's reason. The verdict a row deserves is decided
in tests/test_reply_corpus.py from sisimai's reason (with a written exception where the two
disagree), never from listclean's classifier.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import subprocess
import sys

STAGES = [
    (re.compile(r"in reply to (RCPT TO|MAIL FROM|end of DATA|DATA|HELO|EHLO)\b", re.I), None),
    (re.compile(r"\bafter (RCPT TO|MAIL FROM|end of data|DATA|HELO|EHLO)\b", re.I), None),
    (re.compile(r">>> (RCPT To|MAIL From|DATA|HELO|EHLO)", re.I), None),
]
STAGE_NAMES = {"rcpt to": "RCPT", "mail from": "MAIL", "end of data": "DATA", "data": "DATA"}
INDEX = re.compile(r"'(\d+)'\s*=>")
TUPLE = re.compile(r"\['([^']*)',\s*'([^']*)',\s*'([^']*)'")
DIAG = re.compile(r"^\s*smtp\s*;\s*([245]\d\d)[ -](.*)$", re.I | re.S)


def git(repo: str, *args: str) -> str:
    out = subprocess.run(["git", "--git-dir", repo, *args], capture_output=True, check=True)
    return out.stdout.decode("utf-8", "replace")


def expectations(rb: str) -> dict[str, list[tuple[str, str, str]]]:
    """sisimai's expected (status, code, reason) of each recipient, by message."""
    out: dict[str, list[tuple[str, str, str]]] = {}
    for path in git(rb, "ls-tree", "-r", "--name-only", "HEAD", "test/public").split():
        name = path.rsplit("/", 1)[1]
        if not re.match(r"(lhost|rhost)-[a-z0-9]+\.rb$", name) or "engine" in name:
            continue
        stem = name[:-3]
        key = ""
        for line in git(rb, "show", f"HEAD:{path}").splitlines():
            m = INDEX.search(line)
            if m:
                key = f"{stem}-{m.group(1)}"
                out[key] = []
            if key:
                out[key].extend(TUPLE.findall(line))
    return out


def stage_of(raw: str) -> str:
    for pattern, _ in STAGES:
        m = pattern.search(raw)
        if m:
            word = m.group(1).lower()
            return STAGE_NAMES.get(word, word.upper())
    return ""


def main() -> None:
    emails, rb = sys.argv[1], sys.argv[2]
    commit = git(emails, "rev-parse", "HEAD").strip()
    expected = expectations(rb)
    for path in sorted(git(emails, "ls-tree", "-r", "--name-only", "HEAD", "maildir/bsd").split()):
        stem = path.rsplit("/", 1)[1].removesuffix(".eml")
        if stem not in expected:
            continue
        raw = git(emails, "show", f"HEAD:{path}")
        message = email.message_from_string(raw, policy=email.policy.compat32)
        blocks = []  # the per-recipient fields of the delivery status, in order
        for part in message.walk():
            if part.get_content_type() == "message/delivery-status":
                blocks = [b for b in part.get_payload() if b.get("Final-Recipient")]
                break
        if len(blocks) != len(expected[stem]):
            continue  # cannot pair recipients with sisimai's expectations: left out
        stage = stage_of(raw) if len(blocks) == 1 else ""
        for block, (status, _code, reason) in zip(blocks, expected[stem], strict=True):
            m = DIAG.match(" ".join(str(block.get("Diagnostic-Code", "")).split()))
            if not m:
                continue
            print(
                json.dumps(
                    {
                        "source": f"sisimai/set-of-emails {path} @ {commit[:12]}",
                        "provider": stem.rsplit("-", 1)[0].split("-", 1)[1],
                        "stage": stage,
                        "code": int(m.group(1)),
                        "text": m.group(2).strip(),
                        "sisimai": reason,
                        "sisimai_status": status,
                    },
                    ensure_ascii=False,
                )
            )


RHOST_REASON = re.compile(r"^\s*'([a-z]+)'\s*=>\s*\[")
RHOST_REPLY = re.compile(r"^\s*#\s*-\s*([245]\d\d)\s+([245]\.\d{1,3}\.\d{1,3}\b.*)$")
RHOST_MORE = re.compile(r"^\s*#\s{2,}(\S.*)$")


def rhost_rows(rb: str) -> None:
    """Full reply texts quoted (from the providers' own documentation) in the comments of
    sisimai's per-provider tables, lib/sisimai/rhost/*.rb, under the reason they map to."""
    commit = git(rb, "rev-parse", "HEAD").strip()
    for path in git(rb, "ls-tree", "-r", "--name-only", "HEAD", "lib/sisimai/rhost").split():
        where = path.rsplit("/", 1)[1].removesuffix(".rb")
        found: list[tuple[str, int, str]] = []  # (reason, code, text)
        reason, reply = "", None
        for line in [*git(rb, "show", f"HEAD:{path}").splitlines(), ""]:
            more = RHOST_MORE.match(line)
            if reply is not None and more and not more.group(1).startswith(("http", "- http")):
                reply = (reply[0], reply[1] + " " + more.group(1))
                continue
            if reply is not None and reason:
                found.append((reason, reply[0], " ".join(reply[1].split())))
            reply = None
            m = RHOST_REASON.match(line)
            if m:
                reason = m.group(1)
            m = RHOST_REPLY.match(line)
            if m:
                reply = (int(m.group(1)), m.group(2))
        for reason, code, text in found:
            row = {
                "source": f"sisimai/rb-sisimai {path} @ {commit[:12]} (quoted from the "
                "provider's documentation)",
                "provider": where,
                "stage": "",
                "code": code,
                "text": text,
                "sisimai": reason,
                "sisimai_status": text.split()[0],
            }
            print(json.dumps(row, ensure_ascii=False))


# The verdict each sisimai reason deserves in a probe (RCPT/MAIL/EHLO, never DATA).
BY_REASON = {
    "userunknown": ("mailbox_not_found", "the reply says the mailbox does not exist"),
    "hasmoved": ("mailbox_not_found", "the mailbox has moved away (5.1.6): not at this address"),
    "suspend": ("mailbox_disabled", "the reply says the mailbox is disabled or suspended"),
    "mailboxfull": ("mailbox_full", "the mailbox exists but is full"),
    "blocked": ("ip_blocked", "a refusal of our IP, not of the mailbox"),
    "badreputation": ("ip_blocked", "our IP's reputation, not the mailbox"),
    "requireptr": ("ip_blocked", "our IP's reverse DNS, not the mailbox"),
    "rejected": ("sender_rejected", "a refusal of our sender (MAIL FROM), not of the mailbox"),
    "authfailure": ("sender_rejected", "our sender's SPF/DKIM/DMARC, not the mailbox"),
    "toomanyconn": ("rate_limited", "a limit on our connections or rate"),
    "speeding": ("rate_limited", "a limit on our sending rate"),
}
# Where sisimai's reason (decided from the whole bounce, for a sender of mail) is not what the
# reply itself says to a prober. Matched on the reply text; each says why.
OVERRIDES = [
    (r"^Rejected$", "smtp_error", "a bare 'Rejected' says nothing of why: unknown"),
    (r"Recipient address rejected\.$", "smtp_error", "rejected without a reason: unknown"),
    (r"^5\.7\.1 Access denied$", "smtp_error", "access denied without a reason: unknown"),
    (
        r"^4\.1\.1 .*User unknown in virtual alias table",
        "smtp_error",
        "a 4xx is temporary (RFC 5321 4.2.1; Postfix soft_bounce): unknown after the retries",
    ),
    (
        r"\.\.\. User Unknown|: User unknown|No such user|Mailbox does not exist|"
        r"unknown recipient or mailbox unavailable",
        "mailbox_not_found",
        "the reply itself says user unknown (sisimai read the context)",
    ),
    (r"sender rejected", "sender_rejected", "the reply says our sender was rejected"),
    (
        r"receiving mail (at a rate|too quickly)",
        "smtp_error",
        "one mailbox's receiving rate: nothing about its existence, and no reason to slow the host",
    ),
    (r"relay limit exceeded", "rate_limited", "a sending limit: back off"),
    (r"TSS04", "rate_limited", "Yahoo TSS04 throttles our IP for volume: back off"),
    (r"TSS09|TSS11", "ip_blocked", "Yahoo TSS09/TSS11: all messages from our IP refused"),
    (r"HELO/EHLO argument is invalid", "sender_rejected", "our HELO name: sender identity"),
    (
        r"Try again later, closing connection",
        "rate_limited",
        "a 421 'try again later': back off, the host did not say it blocks us",
    ),
    (r"unusual rate of mail", "rate_limited", "a 421 about our IP's rate: back off"),
    (
        r"Ip frequency limited|Connection frequency limited",
        "rate_limited",
        "a frequency limit on our IP: back off",
    ),
    (
        r"A problem occurred\. \(Ask your postmaster",
        "smtp_error",
        "no reason given but '(BL)': unknown",
    ),
    (
        r"ESMTP not accepting connections",
        "smtp_error",
        "a 554 greeting: no service for us, reason not given",
    ),
    (
        r"sender account is disabled",
        "sender_rejected",
        "the *sender* account (ours) is disabled, not the recipient's",
    ),
    (r"rate limited due to IP reputation", "ip_blocked", "our IP's reputation (4.7.650)"),
]
STATUS = {
    "mailbox_not_found": "undeliverable",
    "mailbox_disabled": "undeliverable",
    "mailbox_full": "risky",
}


def verdict(row: dict[str, object]) -> tuple[str, str, str]:
    """(status, reason, why) the row deserves; reason "" = any reason with that status."""
    text = str(row["text"])
    for pattern, reason, why in OVERRIDES:
        if re.search(pattern, text):
            return STATUS.get(reason, "unknown"), reason, why
    if row["sisimai"] in BY_REASON:
        reason, why = BY_REASON[str(row["sisimai"])]
        return STATUS.get(reason, "unknown"), reason, f"sisimai: {row['sisimai']}; {why}"
    return "unknown", "", f"sisimai: {row['sisimai']}; says nothing of the mailbox's existence"


def finish(lines: list[str]) -> None:
    """Drop DATA-stage replies (a probe never sends DATA) and repeats; add the verdicts."""
    seen = set()
    for line in lines:
        row = json.loads(line)
        key = (row["code"], row["text"])
        if row["stage"] == "DATA" or key in seen:
            continue
        seen.add(key)
        row["status"], row["reason"], row["why"] = verdict(row)
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        main()
        rhost_rows(sys.argv[2])
    finish(buf.getvalue().splitlines())
