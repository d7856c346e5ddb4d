"""Regenerate examples/contacts.csv (deterministic: the same seed gives the same file).

python scripts/make_example.py > examples/contacts.csv
"""

import csv
import random
import sys

rng = random.Random(20261128)
FIRST = [
    "Ann",
    "Bob",
    "Chloé",
    "Dmitri",
    "Emma",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kaito",
    "Lena",
    "Mateo",
    "Nora",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Viktor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoë",
]
LAST = [
    "Smith",
    "García",
    "Müller",
    "O'Brien",
    "Nguyen",
    "Kowalski",
    "Rossi",
    "Dubois",
    "Johansson",
    "Okafor",
    "Tanaka",
    "Silva",
    "Novak",
    "Haddad",
    "Larsen",
    "Costa",
]
COMPANIES = [
    "acme-widgets.com",
    "northwind.io",
    "contoso.co.uk",
    "globex.net",
    "initech.org",
    "umbrella-labs.de",
    "hooli.dev",
    "vandelay.example.com",
    "stark-industries.fr",
]
FREE = [
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.co.uk",
    "gmx.de",
    "web.de",
    "icloud.com",
    "proton.me",
    "mail.ru",
]
DISPOSABLE = [
    "mailinator.com",
    "10minutemail.com",
    "guerrillamail.com",
    "yopmail.com",
    "tempmail.plus",
    "inbox.mailinator.com",
]
TYPOS = [
    "gmial.com",
    "gmail.con",
    "hotmial.com",
    "yaho.com",
    "outlok.com",
    "gnail.com",
    "yahoo.cmo",
    "iclod.com",
]
ROLES = ["info", "sales", "support", "admin", "noreply", "billing", "Marketing", "hr"]
BROKEN = [
    "ann.smith@",
    "@gmail.com",
    "bob smith@acme-widgets.com",
    "carol@@northwind.io",
    "dave@localhost",
    "eve..adams@globex.net",
    "frank@initech",
    "grace@exa_mple.com",
    "not an email",
    "henry@[127.0.0.1]",
    "ivan@-bad-.com",
    "",
]
NOTES = [
    "",
    "",
    "",
    "met at the trade fair, booth 12",
    'asked for "enterprise" pricing',
    "call back after 3pm; prefers phone",
    "line one\nline two",
    "VIP, do not spam",
    "=SUM(A1:A2)",
    "  leading and trailing spaces  ",
]


def local(first: str, last: str) -> str:
    last = last.lower().replace("'", "").replace("ü", "ue").replace("í", "i")
    first = first.lower().replace("é", "e").replace("ë", "e")
    return rng.choice(
        [
            f"{first}.{last}",
            f"{first[0]}{last}",
            f"{first}{rng.randint(1, 99)}",
            f"{first}_{last}",
            f"{first}+news",
        ]
    )


def main() -> None:
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(
        ["id", "first_name", "last_name", "Email Address", "phone", "signup_date", "notes"]
    )
    rows = []
    for i in range(1, 301):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        kind = rng.random()
        if kind < 0.45:
            email = f"{local(first, last)}@{rng.choice(COMPANIES)}"
        elif kind < 0.70:
            email = f"{local(first, last)}@{rng.choice(FREE)}"
        elif kind < 0.77:
            email = f"{local(first, last)}@{rng.choice(DISPOSABLE)}"
        elif kind < 0.84:
            email = f"{rng.choice(ROLES)}@{rng.choice(COMPANIES)}"
        elif kind < 0.91:
            email = f"{local(first, last)}@{rng.choice(TYPOS)}"
        elif kind < 0.96:
            email = rng.choice(BROKEN)
        else:
            email = rng.choice(["jürgen@müller-bau.de", "josé@correo.es", "李@example.cn"])
        if rows and rng.random() < 0.06:  # duplicates, sometimes with odd case or spaces
            prev = rng.choice(rows)[3]
            email = rng.choice(
                [prev, f" {prev} ", prev.replace("@", "@").upper() if "@" in prev else prev]
            )
        phone = rng.choice(["0", "+44 0", "00"]) + "".join(
            rng.choice("0123456789") for _ in range(9)
        )
        date = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        rows.append([f"{i:05d}", first, last, email, phone, date, rng.choice(NOTES)])
    out.writerows(rows)


main()
