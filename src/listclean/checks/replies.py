"""SMTP reply classification: (code, enhanced status code, text) -> Reason. Pure.

Each rule names the real replies it was written for; tests/test_replies.py has one row per
reply, with its source. The order matters: a blocklist text decides before a 5.1.x code
(Spamhaus rejections come as "550 5.7.1" but also as plain "554"), and a "mailbox full"
before a generic 452/552.

Kinds of outcome:
- ACCEPTED: the server takes the recipient (250/251).
- a final verdict for the address: MAILBOX_NOT_FOUND, MAILBOX_DISABLED, MAILBOX_FULL.
- host-level trouble: IP_BLOCKED (stop probing the host), RATE_LIMITED (back off).
- GREYLISTED / SMTP_ERROR: temporary (4xx) replies are retried later; what is still 4xx at
  the end keeps that reason. A 5xx that says nothing about the mailbox is SMTP_ERROR, never
  "undeliverable": a failure to read a server is unknown.
"""

from __future__ import annotations

import re
import unicodedata

from listclean.checks.providers import provider_of
from listclean.model import Reason
from listclean.politeness import ACCEPT_ALL

_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})\b")

# About our IP, whatever the code: its reverse DNS, its reputation, a blocklist naming it.
# These decide before a 421 or a rate word ("rate limited due to IP reputation" is a block).
PTR = re.compile(
    r"cannot find your (reverse )?hostname|reverse (dns|hostname)|\bptr\b|"
    r"mismatches client ip|forward dns entry",
    re.IGNORECASE,
)
REPUTATION = re.compile(
    r"spamhaus|spamcop|barracuda|sorbs|abusix|\bdnsbl\b|\brbl\b|block ?list|black ?list|"
    r"blocked using|listed (at|on|in)|(poor|bad|low) reputation|reputation (of|service)|"
    r"ip reputation|dynamic reputation|not in (the )?(white|allow) ?list|\bbanned\b",
    re.IGNORECASE,
)
# About our IP too, but weaker words: decided after the rate words, so a 421 "unusual rate of
# unsolicited mail originating from your IP" backs off while its 550 form stops the host.
BLOCKED = re.compile(
    r"\bblocked\b|client host rejected|not allowed to send|"
    r"ip(v4|v6)? (address )?.*(rejected|refused|blocked)|access denied.*\bip\b|"
    r"too much spam|service unavailable; client|connection rejected|"
    r"messages from \[?\d{1,3}(\.\d{1,3}){3}|"
    r"unsolicited mail originating from your ip",
    re.IGNORECASE,
)
RATE = re.compile(
    r"too many (connections|concurrent|sessions|messages|recipients)|rate limit|"
    r"rate-limit|ratelimit|throttl|slow down|connection rate|try again (in|after) a while|"
    r"exceeded .*(limit|quota) for|too fast|frequency limit|"
    r"(relay|sending|daily|hourly) limits? exceeded",
    re.IGNORECASE,
)
FULL = re.compile(
    r"mailbox (is )?full|over ?quota|quota exceeded|exceeded (its|the|storage)|"
    r"insufficient (system )?storage|storage (space|allocation)|out of (disk )?space|"
    r"mailbox size limit",
    re.IGNORECASE,
)
DISABLED = re.compile(
    r"disabled|deactivated|inactive|suspended|no longer (active|in use|available)|"
    r"account (has been |is )?(closed|expired|locked|blocked)|mailbox (is )?(locked|frozen)",
    re.IGNORECASE,
)
# The recipient's own account locked or blocked: decided before the IP words ("blocked").
RECIPIENT_LOCKED = re.compile(
    r"\b(recipient|user|mailbox)('s)?\b[^.:;]{0,20}\b(locked|frozen|blocked|suspended)\b",
    re.IGNORECASE,
)
NOT_FOUND = re.compile(
    r"user unknown|unknown user|no such (user|mailbox|recipient|account|address)|"
    r"(user|mailbox|recipient|address|account) (does not|doesn't|not) exist|"
    r"not found|invalid (recipient|mailbox|address|user)|recipient (address )?unknown|"
    r"unknown (recipient|mailbox|address)|mailbox unavailable|no mailbox|"
    r"unrouteable address|undeliverable address|address rejected: user|"
    r"is not a valid mailbox|not our customer|no longer (exists|here)|"
    r"recipient not found|user not found|bad recipient|not a known user|"
    r"unknown in (relay|local|virtual) recipient table|recipient cannot be verified|"
    r"doesn't have an? [\w.-]+ account|not our user|no mailbox here",
    re.IGNORECASE,
)
# One mailbox receiving too much mail (Gmail, support.google.com/a/answer/3726730): about
# that mailbox's rate, not its existence, nor our IP: retried when 4xx, unknown when 5xx.
MAILBOX_RATE = re.compile(r"receiving mail (at a rate|too quickly)", re.IGNORECASE)
# Our sender's authentication (RFC 7372, Gmail 4.7.2x/5.7.2x/5.7.30/5.7.32): SPF, DKIM,
# DMARC. Decided before a 421: "rate limited because it is unauthenticated" is about the
# sender identity, which waiting does not fix. (5.7.25 and a PTR text are about the IP: above.)
SENDER_AUTH_CODES = tuple(f"{k}.7.{n}" for k in (4, 5) for n in (23, 24, 26, 27, 30, 32))
SENDER_AUTH = re.compile(
    r"sender is unauthenticated|sender verif|\bspf\b(?! domain)|\bdkim\b(?! domain)|"
    r"\bdmarc\b|unauthenticated|authentication checks",
    re.IGNORECASE,
)
GREYLIST_WORDS = re.compile(r"gr[ea]y ?list", re.IGNORECASE)  # the server names greylisting
SENDER = re.compile(
    r"sender address|sender domain|mail from|sender verify|sender verification|"
    r"sender is unauthenticated|sender (account|rejected|denied|not allowed)|"
    r"mail sending denied|anti-spoofing|\b(helo|ehlo)\b",
    re.IGNORECASE,
)
GREYLIST = re.compile(
    r"grey ?list|gray ?list|try again later|please (try again|retry)|retry (later|in)|"
    r"temporar(il)?y (deferred|rejected|unavailable|blocked)|deferred|come back later",
    re.IGNORECASE,
)


def enhanced_code(text: str) -> str:
    """The RFC 3463 enhanced status code at the start of a reply text, or ""."""
    m = _ENHANCED.match(text.strip())
    return m.group(0) if m else ""


# What a server echoes back: <anything-in-angle-brackets> and bare tokens with an "@".
_ECHOED = re.compile(r"<[^<>]*>|[^\s<>]*@[^\s<>]*")


def without_echo(text: str, address: str = "") -> str:
    """The reply with every echoed address (and the probed address's local part) removed, so
    an address like blocked@ or disabled@ cannot decide the classification."""
    cleaned = _ECHOED.sub(" ", text)
    local = address.rpartition("@")[0]
    # The substring test first: a pattern per address overflowed re's cache and compiling it
    # was 60 % of listclean's CPU per probed address (#19 item 4). Characters re.I takes as
    # equal have equal case folds, so no case-insensitive match is missed by this test.
    if len(local) >= 3 and local.casefold() in cleaned.casefold():
        cleaned = re.sub(rf"(?<![\w.+-]){re.escape(local)}(?![\w.+-])", " ", cleaned, flags=re.I)
    return cleaned


def classify(code: int, text: str, address: str = "") -> Reason:
    """Classify a reply to RCPT TO (or a banner/MAIL FROM rejection).

    ``address``: the recipient that was probed; the reply is classified without it (servers
    echo it back). A specific enhanced status code wins over keywords of the text.
    """
    enhanced = enhanced_code(text)
    text = without_echo(text, address)
    klass, subject = code // 100, enhanced[2:].split(".")[0] if enhanced else ""
    if klass == 2:
        return Reason.ACCEPTED if code in (250, 251) else Reason.SMTP_ERROR
    if PTR.search(text):
        return Reason.IP_BLOCKED  # our IP's reverse DNS
    if enhanced in SENDER_AUTH_CODES or SENDER_AUTH.search(text):
        return Reason.SENDER_REJECTED  # authentication of our sender (SPF, DMARC): not our IP
    if REPUTATION.search(text):
        return Reason.IP_BLOCKED
    if code == 421 or RATE.search(text):
        return Reason.RATE_LIMITED  # RFC 5321 §4.2.3: 421 = service closing the channel
    if enhanced in ("5.1.7", "5.1.8", "4.1.7", "4.1.8") or SENDER.search(text):
        return Reason.SENDER_REJECTED  # our HELO or MAIL FROM: says nothing of the mailbox
    if klass == 5 and RECIPIENT_LOCKED.search(text):
        return Reason.MAILBOX_DISABLED  # "the recipient account is blocked": not our IP
    if BLOCKED.search(text):
        return Reason.IP_BLOCKED
    if enhanced.endswith(".2.2") or FULL.search(text) or (code == 552 and not enhanced):
        return Reason.MAILBOX_FULL  # RFC 3463 X.2.2 mailbox full
    if klass == 4:
        if enhanced in ("4.2.0", "4.7.1", "4.7.0") or GREYLIST.search(text) or code in (450, 451):
            return Reason.GREYLISTED
        return Reason.SMTP_ERROR
    if klass == 5:
        if MAILBOX_RATE.search(text):
            return Reason.SMTP_ERROR  # a 5.2.1 about the rate, not a disabled mailbox
        if enhanced == "5.4.1" and "access denied" in text.lower():
            # Microsoft 365 directory-based edge blocking: the recipient is not in the tenant
            return Reason.MAILBOX_NOT_FOUND
        if enhanced in ("5.1.1", "5.1.10"):
            return Reason.MAILBOX_NOT_FOUND  # RFC 3463 / RFC 7505: bad destination mailbox
        if enhanced.startswith("5.2.") and NOT_FOUND.search(text) and not DISABLED.search(text):
            return Reason.MAILBOX_NOT_FOUND  # "550 5.2.1 <x>... User Unknown": the text is plain
        if enhanced.startswith("5.2.1") or DISABLED.search(text):
            return Reason.MAILBOX_DISABLED  # RFC 3463 X.2.1 mailbox disabled
        if subject == "1":
            return Reason.MAILBOX_NOT_FOUND  # X.1.x addressing status (5.1.8: bad *sender*)
        if code in (511, 550, 551, 553) and NOT_FOUND.search(text):
            return Reason.MAILBOX_NOT_FOUND
        if code == 554 and not enhanced and NOT_FOUND.search(text):
            return Reason.MAILBOX_NOT_FOUND
    return Reason.SMTP_ERROR


def after_retries(reason: Reason, text: str) -> Reason:
    """What a temporary reply still standing after the greylist retries means: "greylisted"
    only if the server says so, else a temporary server failure (smtp_error)."""
    if reason is Reason.GREYLISTED and not GREYLIST_WORDS.search(text):
        return Reason.SMTP_ERROR
    return reason


TEMPORARY = {Reason.GREYLISTED, Reason.SMTP_ERROR}
HOST_LEVEL = {Reason.IP_BLOCKED, Reason.RATE_LIMITED, Reason.SENDER_REJECTED}

MAX_REPLY_CHARS = 200
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def sanitize_reply(text: str) -> str:
    """Remote text made safe for a CSV cell: no control characters, capped length, and no
    leading = + - @ that a spreadsheet would read as a formula (OWASP CSV injection)."""
    head = text[: MAX_REPLY_CHARS * 4]
    if head.isascii():  # the usual reply: the only ASCII characters of category C are these
        cleaned = _ASCII_CONTROL.sub(" ", head)
    else:
        cleaned = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in head)
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > MAX_REPLY_CHARS:
        cleaned = cleaned[: MAX_REPLY_CHARS - 1] + "…"
    if cleaned[:1] in ("=", "+", "-", "@", "\t", "\r"):
        cleaned = "'" + cleaned
    return cleaned


def provider_unverifiable(mx_host: str) -> bool:
    """Providers whose MX hosts accept every RCPT and bounce later, so a probe proves nothing
    (politeness.ACCEPT_ALL, the same table as the providers' budgets)."""
    return provider_of(mx_host) in ACCEPT_ALL
