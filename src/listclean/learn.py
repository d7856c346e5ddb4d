"""`listclean learn`: the user's own delivery evidence, read from the files they already have.

Each supported file becomes a list of ``Event`` (address, kind, time). Formats are detected
from the content, never from the file name (docs/learn.md lists them with their sources):

- ``postfix``: Postfix mail logs (``status=sent|bounced|deferred|expired`` delivery lines).
- ``exim``: Exim main logs (``=>`` delivered, ``**`` failed, ``==`` deferred).
- ``mailchimp``: Mailchimp audience exports (cleaned members: hard bounces; unsubscribed).
- ``hubspot``: HubSpot contact exports (hard bounce reason, unsubscribed from all email) and
  HubSpot email-event tables (BOUNCE, SPAMREPORT, DELIVERED ...).
- ``brevo``: Brevo event exports (hard_bounce, soft_bounce, spam, unsubscribe, delivered).
- ``sendgrid``: SendGrid event-webhook JSON and event tables, and its bounce-list CSV.
- ``ses``: Amazon SES bounce/complaint/delivery notifications (JSON, JSON lines, SNS-wrapped).
- ``mbox`` / ``maildir`` / ``dsn``: bounce messages, read with ``flufl.bounce`` (Mailman's
  bounce detectors); where a message carries an RFC 3464 delivery-status part, its per
  recipient Status and Diagnostic-Code decide hard or soft.

The rule of the whole project holds here too: a *hard bounce* is only a reply that says the
mailbox does not exist or is disabled (the same classifier as the SMTP probes, on the bounce's
text). A permanent failure about our IP, content, policy or rates is kept as a soft bounce.
A provider's own word ("cleaned", "Permanent", "hard_bounce") counts as hard when it gives no
text to classify.

Reading is all or nothing: every file is parsed completely before anything is stored, so a
malformed file (bad JSON, a CSV without an email column) stops the whole command with one line
and nothing is half-ingested.
"""

from __future__ import annotations

import email
import email.policy
import json
import mailbox
import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from listclean.checks.replies import classify, enhanced_code
from listclean.errors import InputError
from listclean.model import Reason
from listclean.safety import has_control


class Kind(StrEnum):
    HARD = "hard_bounce"
    SOFT = "soft_bounce"
    COMPLAINT = "complaint"
    UNSUBSCRIBED = "unsubscribed"
    DELIVERED = "delivered"


@dataclass(frozen=True)
class Event:
    address: str
    kind: Kind
    at: float  # epoch seconds


@dataclass
class Parsed:
    path: str
    format: str
    events: list[Event] = field(default_factory=list)
    skipped: int = 0  # records whose address is not an address

    def add(self, address: str, kind: Kind, at: float) -> None:
        cleaned = clean_address(address)
        if cleaned is None:
            self.skipped += 1
        else:
            self.events.append(Event(cleaned, kind, at))


FORMATS = (
    "postfix",
    "exim",
    "mailchimp",
    "hubspot",
    "brevo",
    "sendgrid",
    "ses",
    "mbox",
    "maildir",
    "dsn",
)
MAX_ADDRESS = 320


def clean_address(raw: str) -> str | None:
    """The address of a record, or None when it is not one (no @, control characters...)."""
    text = raw.strip()
    if text.lower().startswith("rfc822;"):
        text = text[7:].strip()
    text = text.strip("<>").strip()
    if not text or len(text) > MAX_ADDRESS or has_control(text) or any(c.isspace() for c in text):
        return None
    local, at, domain = text.rpartition("@")
    if not at or not local or "." not in domain:
        return None
    return text


def evidence_key(address: str) -> str:
    """How evidence is matched to a list's address: trimmed, case-folded, the domain in its
    Unicode form (logs write IDNs as xn--, lists as typed)."""
    local, _, domain = address.strip().rpartition("@")
    if "xn--" in domain.lower():
        try:
            domain = domain.encode("ascii").decode("idna")
        except (UnicodeError, ValueError):
            pass
    return f"{local}@{domain}".casefold()


# -- times ---------------------------------------------------------------------------------
_SYSLOG = re.compile(r"^([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)")
_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}


def parse_when(value: Any, now: float | None = None) -> float | None:
    """Epoch seconds from the many ways exports write a time, or None."""
    now = time.time() if now is None else now
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
        return number / 1000 if number > 1e11 else number  # milliseconds (HubSpot)
    text = str(value).strip()
    if not text:
        return None
    if re.fullmatch(r"\d{9,13}(\.\d+)?", text):
        return parse_when(float(text), now)
    iso = text.replace(" UTC", "+00:00").replace("Z", "+00:00")
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        when = None
    if when is None:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            when = None
    if when is None:
        for fmt in ("%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%d/%m/%Y %H:%M", "%m/%d/%Y"):
            try:
                when = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _syslog_time(match: re.Match[str], now: float) -> float:
    """A classic syslog stamp has no year: this year, or last year when that would be in the
    future (a December log read in January)."""
    today = datetime.fromtimestamp(now, UTC)
    month, day = _MONTHS.get(match[1], 1), int(match[2])
    hms = int(match[3]), int(match[4]), int(match[5])
    for year in (today.year, today.year - 1):
        try:
            when = datetime(year, month, day, *hms, tzinfo=UTC)
        except ValueError:
            continue
        if when.timestamp() <= now + 86_400:
            return when.timestamp()
    return now


# -- hard or soft --------------------------------------------------------------------------
_REPLY = re.compile(r"(?<![\d.])([245]\d\d)[ -](.*)", re.DOTALL)
MAILBOX_GONE = {Reason.MAILBOX_NOT_FOUND, Reason.MAILBOX_DISABLED}


def bounce_kind(
    text: str, status: str = "", address: str = "", provider_hard: bool = False
) -> Kind:
    """Hard only when the bounce's reply (or its RFC 3463 status) says the mailbox is gone.

    ``provider_hard``: the sender's provider called it permanent; that decides only when there
    is no text to classify.
    """
    text = " ".join((text or "").split())
    if text.lower().startswith("smtp;"):
        text = text[5:].strip()
    status = (status or "").strip()
    match = _REPLY.search(text)
    if match:
        code, rest = int(match[1]), match[2]
    elif status[:1] in "245" and status[:1]:
        code, rest = (550 if status[0] == "5" else 450), text
    elif text:
        code, rest = (550 if provider_hard else 450), text
    else:
        return Kind.HARD if provider_hard else Kind.SOFT
    if status and not enhanced_code(rest):
        rest = f"{status} {rest}"
    reason = classify(code, rest, address)
    if reason in MAILBOX_GONE:
        return Kind.HARD
    if provider_hard and reason is Reason.SMTP_ERROR and not match and not status:
        return Kind.HARD  # the provider's word, with a text that says nothing more
    return Kind.SOFT


# -- logs ----------------------------------------------------------------------------------
_STAMP = r"(?P<ts>[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[^ ]*)"
POSTFIX = re.compile(
    _STAMP + r" \S+ postfix[\w./-]*/\w+\[\d+\]: \w+: to=<(?P<to>[^>]*)>,.*?"
    r"\bdsn=(?P<dsn>\d\.\d{1,3}\.\d{1,3}), status=(?P<status>sent|bounced|deferred|expired)"
    r"(?: \((?P<text>.*)\))?\s*$"
)
EXIM = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [+-]\d{4})?) (?:\[\d+\] )?"
    r"(?P<id>[\w-]{16,23}) (?P<flag>\*\*|==|=>|->) (?P<to>\S+)(?: <(?P<orig>[^>]+)>)?(?P<rest>.*)$"
)


def _parse_postfix(path: str, lines: Iterable[str], now: float) -> Parsed:
    out = Parsed(path, "postfix")
    for line in lines:
        m = POSTFIX.search(line)
        if not m:
            continue  # other daemons' lines: a syslog file mixes them
        ts = m["ts"]
        syslog = _SYSLOG.match(ts)
        at = _syslog_time(syslog, now) if syslog else (parse_when(ts, now) or now)
        status, text, to = m["status"], m["text"] or "", m["to"]
        if status == "sent":
            out.add(to, Kind.DELIVERED, at)
        elif status == "bounced":
            # Postfix's own text: "host X said: 550 5.1.1 ... (in reply to RCPT TO command)"
            out.add(to, bounce_kind(text, m["dsn"], to), at)
        else:
            out.add(to, Kind.SOFT, at)
    return out


def _parse_exim(path: str, lines: Iterable[str], now: float) -> Parsed:
    out = Parsed(path, "exim")
    for line in lines:
        m = EXIM.match(line)
        if not m:
            continue
        to = m["orig"] or m["to"]
        at = parse_when(m["ts"], now) or now
        flag = m["flag"]
        if flag in ("=>", "->"):
            out.add(to, Kind.DELIVERED, at)
        elif flag == "**":
            # "... SMTP error from remote mail server after RCPT TO:<x>: 550 5.1.1 ..."
            rest = m["rest"]
            text = rest.rsplit(": ", 1)[-1] if ": " in rest else rest
            after = re.search(
                r"after (?:end of data|RCPT TO:<[^>]*>|MAIL FROM:<[^>]*>|DATA): (.*)$", rest
            )
            out.add(to, bounce_kind(after[1] if after else text, "", to), at)
        else:
            out.add(to, Kind.SOFT, at)
    return out


# -- JSON: SES and SendGrid ----------------------------------------------------------------
def _json_records(path: str, text: str) -> list[Any]:
    stripped = text.strip()
    try:
        whole = json.loads(stripped)
    except json.JSONDecodeError:
        whole = None
    if whole is not None:
        return whole if isinstance(whole, list) else [whole]
    records = []
    for number, line in enumerate(stripped.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path}: line {number} is not JSON ({exc.msg}); fix or remove that line "
                "(nothing was learned)"
            ) from None
    return records


def _unwrap_sns(record: Any) -> Any:
    if isinstance(record, dict) and record.get("Type") == "Notification" and "Message" in record:
        try:
            return json.loads(record["Message"])
        except (TypeError, json.JSONDecodeError):
            return record
    return record


SES_HARD_SUBTYPES = {"noemail", "general", "suppressed", "onaccountsuppressionlist"}


def _ses(out: Parsed, record: dict[str, Any], now: float) -> None:
    kind = str(record.get("notificationType") or record.get("eventType") or "")
    if kind == "Bounce":
        bounce = record.get("bounce") or {}
        at = parse_when(bounce.get("timestamp"), now) or now
        permanent = bounce.get("bounceType") == "Permanent"
        subtype = str(bounce.get("bounceSubType", "")).lower()
        for rcpt in bounce.get("bouncedRecipients") or []:
            address = str(rcpt.get("emailAddress", ""))
            if not permanent:
                out.add(address, Kind.SOFT, at)
                continue
            diag, status = str(rcpt.get("diagnosticCode") or ""), str(rcpt.get("status") or "")
            provider_hard = subtype in SES_HARD_SUBTYPES
            out.add(address, bounce_kind(diag, status, address, provider_hard), at)
    elif kind == "Complaint":
        complaint = record.get("complaint") or {}
        at = parse_when(complaint.get("timestamp"), now) or now
        for rcpt in complaint.get("complainedRecipients") or []:
            out.add(str(rcpt.get("emailAddress", "")), Kind.COMPLAINT, at)
    elif kind == "Delivery":
        delivery = record.get("delivery") or {}
        at = parse_when(delivery.get("timestamp"), now) or now
        for address in delivery.get("recipients") or []:
            out.add(str(address), Kind.DELIVERED, at)


def _sendgrid_event(out: Parsed, event: str, address: str, at: float, rec: dict[str, Any]) -> None:
    reason = str(rec.get("reason") or rec.get("response") or "")
    status = str(rec.get("status") or "")
    if event == "bounce":
        if str(rec.get("type", "")).lower() == "blocked":
            out.add(address, Kind.SOFT, at)  # "blocked": refused for the sender, not the mailbox
        else:
            out.add(address, bounce_kind(reason, status, address, provider_hard=True), at)
    elif event == "dropped":
        low = reason.lower()
        if "bounced address" in low or "invalid" in low:
            out.add(address, Kind.HARD, at)  # dropped: on SendGrid's own bounce list
        elif "unsubscribed" in low:
            out.add(address, Kind.UNSUBSCRIBED, at)
        elif "spam report" in low:
            out.add(address, Kind.COMPLAINT, at)
    elif event == "deferred":
        out.add(address, Kind.SOFT, at)
    elif event == "delivered":
        out.add(address, Kind.DELIVERED, at)
    elif event == "spamreport":
        out.add(address, Kind.COMPLAINT, at)
    elif event in ("unsubscribe", "group_unsubscribe"):
        out.add(address, Kind.UNSUBSCRIBED, at)


def _parse_json(path: str, text: str, now: float) -> Parsed:
    records = [_unwrap_sns(r) for r in _json_records(path, text)]
    dicts = [r for r in records if isinstance(r, dict)]
    if dicts and all(("notificationType" in r or "eventType" in r) for r in dicts):
        out = Parsed(path, "ses")
        for record in dicts:
            _ses(out, record, now)
        return out
    if dicts and all("email" in r and "event" in r for r in dicts):
        out = Parsed(path, "sendgrid")
        for record in dicts:
            at = parse_when(record.get("timestamp"), now) or now
            _sendgrid_event(out, str(record["event"]), str(record["email"]), at, record)
        return out
    raise InputError(
        f"{path}: JSON, but neither Amazon SES notifications nor SendGrid events; "
        "see docs/learn.md for the formats listclean learn reads (nothing was learned)"
    )


# -- tables (CSV exports) ------------------------------------------------------------------
def _parse_table(path: str) -> Parsed:
    from listclean.tables import EMAIL_HEADERS, find_column, read_table

    frame = read_table(path, "evidence file")
    cols = frame.columns
    now = time.time()

    def col(*names: str) -> str | None:
        return find_column(cols, *names)

    rows = frame.to_dicts()
    mail = col("Email Address", *EMAIL_HEADERS)
    # Mailchimp audience export: "Email Address" and CLEAN_TIME (cleaned) or UNSUB_TIME.
    clean_time, unsub_time = col("CLEAN_TIME"), col("UNSUB_TIME")
    if mail and (clean_time or unsub_time or col("OPTIN_TIME", "MEMBER_RATING")):
        out = Parsed(path, "mailchimp")
        for row in rows:
            if clean_time:
                out.add(row[mail], Kind.HARD, parse_when(row[clean_time], now) or now)
            elif unsub_time:
                out.add(row[mail], Kind.UNSUBSCRIBED, parse_when(row[unsub_time], now) or now)
        return out
    # HubSpot contact export: hard bounce reason / unsubscribed from all email.
    hard_reason = col("Email hard bounce reason", "hs_email_hard_bounce_reason_enum")
    optout = col("Unsubscribed from all email", "hs_email_optout")
    if mail and (hard_reason or optout):
        out = Parsed(path, "hubspot")
        when = col("Last marketing email bounce date", "Last Modified Date", "lastmodifieddate")
        for row in rows:
            at = (parse_when(row[when], now) if when else None) or now
            reason = (row.get(hard_reason) or "").strip() if hard_reason else ""
            if reason:
                gone = reason.replace(" ", "_").upper() in ("UNKNOWN_USER", "INVALID_ADDRESS")
                out.add(row[mail], Kind.HARD if gone else Kind.SOFT, at)
            if optout and (row.get(optout) or "").strip().lower() in ("true", "yes", "1"):
                out.add(row[mail], Kind.UNSUBSCRIBED, at)
        return out
    # SendGrid bounce list: email, created, reason, status.
    reason_col, status_col = col("reason"), col("status")
    event_col = col("event", "event type", "eventtype", "type", "activity")
    if mail and reason_col and status_col and not event_col:
        out = Parsed(path, "sendgrid")
        created = col("created", "created_at")
        for row in rows:
            at = (parse_when(row[created], now) if created else None) or now
            out.add(
                row[mail],
                bounce_kind(row[reason_col], row[status_col], row[mail], provider_hard=True),
                at,
            )
        return out
    if mail is None:
        mail = col("recipient", "to")
    if mail and event_col:
        return _parse_event_table(path, rows, mail, event_col, col, now)
    raise InputError(
        f"{path}: not an evidence format listclean learn reads (a CSV with columns "
        f"{', '.join(cols[:6])}...); see docs/learn.md for the formats (nothing was learned)"
    )


def _word(value: str) -> str:
    return re.sub(r"[^a-z]", "", value.lower())


BREVO_WORDS = {
    "hardbounce": Kind.HARD,
    "hardbounces": Kind.HARD,
    "hardbounced": Kind.HARD,
    "softbounce": Kind.SOFT,
    "softbounces": Kind.SOFT,
    "softbounced": Kind.SOFT,
    "blocked": Kind.SOFT,
    "deferred": Kind.SOFT,
    "spam": Kind.COMPLAINT,
    "markedasspam": Kind.COMPLAINT,
    "complaint": Kind.COMPLAINT,
    "unsubscribe": Kind.UNSUBSCRIBED,
    "unsubscribed": Kind.UNSUBSCRIBED,
    "delivered": Kind.DELIVERED,
}
SENDGRID_WORDS = {"processed", "groupunsubscribe", "spamreport", "dropped", "bounce"}


def _parse_event_table(
    path: str, rows: list[dict[str, str]], mail: str, event_col: str, col: Any, now: float
) -> Parsed:
    words = {_word(r[event_col]) for r in rows}
    when = col(
        "date", "timestamp", "created", "time", "ts", "event date", "event_date", "event time"
    )
    reason_col = col("reason", "response", "smtp response", "message")
    status_col = col("status", "smtp status")
    category_col = col("category", "bounce category", "bouncecategory")
    if category_col and "bounce" in words and not words & {"processed", "groupunsubscribe"}:
        fmt = "hubspot"
    elif words & {
        "hardbounce",
        "hardbounces",
        "hardbounced",
        "softbounce",
        "softbounces",
        "softbounced",
    }:
        fmt = "brevo"
    elif words & SENDGRID_WORDS:
        fmt = "sendgrid"
    elif words & set(BREVO_WORDS):
        fmt = "brevo"
    else:
        raise InputError(
            f"{path}: an event table whose events ({', '.join(sorted(words)[:5])}) listclean "
            "does not know; see docs/learn.md (nothing was learned)"
        )
    out = Parsed(path, fmt)
    for row in rows:
        at = (parse_when(row[when], now) if when else None) or now
        address, word = row[mail], _word(row[event_col])
        reason = row[reason_col] if reason_col else ""
        status = row[status_col] if status_col else ""
        if fmt == "hubspot":
            category = _word(row[category_col]) if category_col else ""
            if word == "bounce":
                gone = category in ("unknownuser", "hardbounce") or (
                    not category and bounce_kind(reason, status, address) is Kind.HARD
                )
                out.add(address, Kind.HARD if gone else Kind.SOFT, at)
            elif word == "spamreport":
                out.add(address, Kind.COMPLAINT, at)
            elif word == "delivered":
                out.add(address, Kind.DELIVERED, at)
            elif word == "deferred":
                out.add(address, Kind.SOFT, at)
            elif (
                word == "statuschange"
                and "unsub" in (row.get(col("subscriptions") or "", "") + reason).lower()
            ):
                out.add(address, Kind.UNSUBSCRIBED, at)
        elif fmt == "sendgrid":
            rec = {"reason": reason, "status": status, "type": row.get(col("type") or "", "")}
            _sendgrid_event(out, row[event_col].strip().lower(), address, at, rec)
        else:
            kind = BREVO_WORDS.get(word)
            if kind is Kind.HARD and reason:
                kind = bounce_kind(reason, status, address, provider_hard=True)
            if kind is not None:
                out.add(address, kind, at)
    return out


# -- bounce messages -----------------------------------------------------------------------
def _dsn_fields(msg: Message) -> dict[str, tuple[str, str]]:
    """Per recipient (Final-Recipient) its Status and Diagnostic-Code, from RFC 3464 parts."""
    found: dict[str, tuple[str, str]] = {}
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        for block in blocks:
            if not isinstance(block, Message):
                continue
            rcpt = clean_address(str(block.get("Final-Recipient", "") or ""))
            if rcpt:
                found[evidence_key(rcpt)] = (
                    str(block.get("Status", "") or ""),
                    str(block.get("Diagnostic-Code", "") or ""),
                )
    return found


def _from_message(out: Parsed, msg: Message, now: float) -> None:
    from flufl.bounce import all_failures

    try:
        temporary, permanent = all_failures(msg)
    except Exception:  # noqa: BLE001 - a detector tripping on one odd message skips it
        return
    at = parse_when(msg.get("Date"), now) or now
    fields = _dsn_fields(msg)

    def text(address: bytes | str) -> str:
        return address.decode("utf-8", "replace") if isinstance(address, bytes) else str(address)

    for raw in permanent:
        address = text(raw)
        status, diag = fields.get(evidence_key(address), ("", ""))
        out.add(address, bounce_kind(diag, status, address, provider_hard=True), at)
    for raw in temporary:
        out.add(text(raw), Kind.SOFT, at)


def _parse_mailbox(path: str, box: mailbox.Mailbox, fmt: str, now: float) -> Parsed:
    out = Parsed(path, fmt)
    try:
        for key in box.iterkeys():
            try:
                raw = box.get_bytes(key)
            except (OSError, KeyError):
                continue
            _from_message(out, email.message_from_bytes(raw), now)
    finally:
        box.close()
    return out


# -- detection -----------------------------------------------------------------------------
_LOG_LINE = re.compile(  # a syslog or Exim time stamp starts the line
    r"^(?:[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d |\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)"
)
LOG_SCAN_LINES = 200_000
_HEADER_LINE = re.compile(rb"^[A-Za-z][A-Za-z0-9-]*: ", re.MULTILINE)


def detect_and_parse(path: str, now: float | None = None) -> Parsed:
    """Parse one evidence file (or Maildir directory); InputError when it is none of them."""
    now = time.time() if now is None else now
    p = Path(path)
    if p.is_dir():
        if (p / "cur").is_dir() or (p / "new").is_dir():
            return _parse_mailbox(path, mailbox.Maildir(p, create=False), "maildir", now)
        raise InputError(f"{path} is a directory but not a Maildir (no cur/ or new/)")
    try:
        with open(p, "rb") as handle:
            head = handle.read(65_536)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not head.strip():
        raise InputError(f"{path} is empty; nothing to learn")
    if b"\x00" in head:
        raise InputError(f"{path} is a binary file, not a log, export or mailbox")
    if head.startswith(b"From "):
        return _parse_mailbox(path, mailbox.mbox(p, create=False), "mbox", now)
    body = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if body[:1] in (b"{", b"["):
        return _parse_json(path, p.read_text("utf-8", errors="replace"), now)
    if len(_HEADER_LINE.findall(head[:4096])) >= 3 and (
        b"multipart/report" in head.lower() or b"mailer-daemon" in head.lower()
    ):
        out = Parsed(path, "dsn")
        _from_message(out, email.message_from_bytes(p.read_bytes()), now)
        return out
    text_head = head.decode("utf-8", errors="replace")
    lines = text_head.splitlines()[:200]
    if lines and _LOG_LINE.match(lines[0]):
        # a log: its delivery lines may come after many lines of other daemons
        for number, line in enumerate(_lines(p)):
            if POSTFIX.search(line):
                return _parse_postfix(path, _lines(p), now)
            if EXIM.match(line):
                return _parse_exim(path, _lines(p), now)
            if number > LOG_SCAN_LINES:
                break
        raise InputError(
            f"{path}: a log without Postfix or Exim delivery lines in its first "
            f"{LOG_SCAN_LINES:,} lines (status=sent/bounced/deferred, or => ** ==); "
            "pass the mail log (nothing was learned)"
        )
    if lines and any(sep in lines[0] for sep in ",;\t|"):
        return _parse_table(path)
    raise InputError(
        f"{path}: not a format listclean learn reads (Postfix or Exim log, Mailchimp, "
        "HubSpot, Brevo or SendGrid export, Amazon SES or SendGrid JSON, mbox or Maildir of "
        "bounces); see docs/learn.md (nothing was learned)"
    )


def _lines(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8", errors="replace") as handle:
        yield from handle


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes (a Maildir: of its messages' names and bytes, sorted)."""
    import hashlib

    digest = hashlib.sha256()
    p = Path(path)
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    for f in files:
        if p.is_dir():
            digest.update(str(f.relative_to(p)).encode())
        with open(f, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def audit_line(command: str, home: Path, details: dict[str, Any], started: float) -> None:
    """One line in the audit log for a learn or forget, as `verify` writes one per run: what
    was read (file hashes keyed with the home's key, formats, counts) or deleted. Never an
    address."""
    import platform
    import uuid
    from datetime import UTC, datetime

    from listclean import __version__, audit

    audit.append(
        home,
        {
            "run_id": uuid.uuid4().hex[:12],
            "command": command,
            "state": "done",
            "started": datetime.fromtimestamp(started, UTC).isoformat(),
            "finished": datetime.now(UTC).isoformat(),
            "user": audit.user(),
            "host": platform.node(),
            "listclean_version": __version__,
            **details,
        },
    )


def parse_files(paths: list[str], now: float | None = None) -> list[Parsed]:
    """Every file parsed in full, or InputError: nothing is stored before all have parsed."""
    return [detect_and_parse(os.fspath(path), now) for path in paths]
