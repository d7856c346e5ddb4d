"""The mailbox provider behind a domain, recognised from its MX host name. Pure.

Keys are the contract's lower-case words (`lc_provider`, shared/DESIGN.md). Each rule is the
MX host name suffix the provider publishes for its customers' domains (their admin docs'
"set your MX records to ..." pages); a domain that hosts its own mail has no provider key.
"""

from __future__ import annotations

# (suffix of the MX host name, provider key), most specific first
MX_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("aspmx.l.google.com", "google"),
    ("googlemail.com", "google"),
    ("google.com", "google"),
    ("smtp.google.com", "google"),
    ("mail.protection.outlook.com", "microsoft"),
    ("olc.protection.outlook.com", "microsoft"),
    ("outlook.com", "microsoft"),
    ("hotmail.com", "microsoft"),
    ("yahoodns.net", "yahoo"),
    ("yahoo.com", "yahoo"),
    ("aol.com", "yahoo"),
    ("mail.icloud.com", "apple"),
    ("icloud.com", "apple"),
    ("me.com", "apple"),
    ("zoho.com", "zoho"),
    ("zoho.eu", "zoho"),
    ("zoho.in", "zoho"),
    ("zohomail.com", "zoho"),
    ("yandex.net", "yandex"),
    ("yandex.ru", "yandex"),
    ("mail.ru", "mailru"),
    ("gmx.net", "gmx"),
    ("gmx.com", "gmx"),
    ("web.de", "webde"),
    ("kundenserver.de", "ionos"),
    ("ionos.com", "ionos"),
    ("ionos.de", "ionos"),
    ("messagingengine.com", "fastmail"),
    ("protonmail.ch", "proton"),
    ("proton.me", "proton"),
    ("mimecast.com", "mimecast"),
    ("mimecast.co.za", "mimecast"),
    ("pphosted.com", "proofpoint"),
    ("ppe-hosted.com", "proofpoint"),
    ("barracudanetworks.com", "barracuda"),
    ("iphmx.com", "cisco"),
    ("trendmicro.com", "trendmicro"),
    ("trendmicro.eu", "trendmicro"),
    ("sophos.com", "sophos"),
    ("amazonaws.com", "amazon"),
)


def provider_of(mx_host: str) -> str:
    """The provider key for an MX host name, or "" when unknown."""
    host = mx_host.lower().rstrip(".")
    if not host:
        return ""
    for suffix, key in MX_SUFFIXES:
        if host == suffix or host.endswith("." + suffix):
            return key
    return ""
