"""Reading an email address typed on a phone: normalise, validate, and suggest fixes.

Why suggestions rather than errors: on a phone keyboard "gmial.com", a stray space or a
missing @ is the common case, and the student should be asked "did you mean ...?" with one
tap to accept, not told they got it wrong. A plausible-but-unusual address is never refused
for looking odd: the suggestion comes with "keep what I typed".

The rules are deliberately those of ordinary mailbox addresses (RFC 5321 dot-atoms, ASCII):
quoted local parts and IP-literal domains are valid in theory but never platform logins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Problem = Literal[
    "empty", "spaces", "no_at", "many_at", "no_local", "no_domain", "local", "domain",
    "non_ascii", "too_long",
]  # fmt: skip

# Domains students commonly use, for "did you mean". The operator's allowed domains are added.
COMMON_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk",
        "live.com", "live.co.uk", "msn.com", "yahoo.com", "yahoo.co.uk", "ymail.com",
        "icloud.com", "me.com", "mac.com", "aol.com", "btinternet.com", "sky.com",
        "virginmedia.com", "talktalk.net", "protonmail.com", "proton.me", "mail.com",
        "gmx.com", "gmx.co.uk", "nhs.net", "nhs.uk",
    }
)  # fmt: skip

# Misspelt endings -> the intended one (last one or two labels of the domain).
_SUFFIX_FIXES = {
    "con": "com", "cmo": "com", "ocm": "com", "comm": "com", "cpm": "com", "vom": "com",
    "xom": "com", "coom": "com", "om": "com", "nte": "net", "ent": "net", "ogr": "org",
    "rog": "org", "couk": "co.uk", "co.ku": "co.uk", "co.uj": "co.uk", "co.ul": "co.uk",
    "acuk": "ac.uk", "ac.ku": "ac.uk", "ac.uj": "ac.uk", "nhs.ent": "nhs.net",
    "nhsnet": "nhs.net", "uk.co": "co.uk", "uk.ac": "ac.uk",
}  # fmt: skip

# Institutional endings chosen on purpose: never "corrected" towards a consumer domain
# ("live.ac.uk" is not a typo of "live.co.uk").
_INSTITUTIONAL = (".ac.uk", ".nhs.uk", ".gov.uk", ".sch.uk", ".nhs.net", ".police.uk", ".mod.uk")

_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*$")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
# Any address `check_email` accepts, found inside free text (log lines, tracebacks): the same
# atoms in either case (the check lower-cases first), labels, and a letters or xn-- TLD.
EMAIL_IN_TEXT = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:[A-Za-z]{2,63}|[Xx][Nn]--[A-Za-z0-9-]{1,59})(?![A-Za-z0-9-])"
)
_WORD_AT = re.compile(r"\s*(?:\(at\)|\[at\]|\s+at\s+)\s*")
_WORD_DOT = re.compile(r"\s*(?:\(dot\)|\[dot\]|\s+dot\s+)\s*")


@dataclass(frozen=True)
class EmailCheck:
    """What was typed, read.

    - `email` set, no `suggestion`: a good address, use it.
    - `email` set and `suggestion`: valid, but probably a typo of `suggestion`: ask.
    - no `email`: not an address (`problem` says why); `suggestion` is a likely fix, if any.
    """

    email: str | None = None
    suggestion: str | None = None
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.email is not None and self.suggestion is None


def normalise(raw: str) -> str:
    """Trim, lower-case and drop wrappers people paste (mailto:, <...>, quotes, a full stop)."""
    text = raw.strip().lower()
    text = text.removeprefix("mailto:").strip()
    if len(text) >= 2 and text[0] + text[-1] in ("<>", '""', "''", "()", "[]"):
        text = text[1:-1].strip()
    return text.rstrip(".,;:!?").strip()


def check_email(raw: str, known_domains: Iterable[str] = ()) -> EmailCheck:
    known = COMMON_DOMAINS | {d.lower() for d in known_domains}
    text = normalise(raw)
    if not text:
        return EmailCheck(problem="empty")
    if any(ch.isspace() for ch in text) or "(at)" in text or "[at]" in text:
        joined = _WORD_DOT.sub(".", text if "@" in text else _WORD_AT.sub("@", text))
        joined = "".join(joined.split())
        inner = check_email(joined, known)
        fix = inner.suggestion or inner.email
        if not any(ch.isspace() for ch in text) or (fix is None and inner.problem == "no_at"):
            return EmailCheck(problem="no_at", suggestion=fix)
        return EmailCheck(problem="spaces", suggestion=fix)
    if "," in text:
        inner = check_email(text.replace(",", "."), known)
        return EmailCheck(problem="domain", suggestion=inner.suggestion or inner.email)
    if not text.isascii():
        return EmailCheck(problem="non_ascii")
    if "@" not in text:
        return EmailCheck(problem="no_at", suggestion=_missing_at(text, known))
    if text.count("@") > 1:
        collapsed = re.sub(r"@+", "@", text)
        single = check_email(collapsed, known) if collapsed.count("@") == 1 else EmailCheck()
        return EmailCheck(problem="many_at", suggestion=single.suggestion or single.email)
    local, _, domain = text.partition("@")
    if not local:
        return EmailCheck(problem="no_local")
    if not domain:
        return EmailCheck(problem="no_domain")
    if len(text) > 254 or len(local) > 64:
        return EmailCheck(problem="too_long")
    if not _LOCAL.fullmatch(local):
        fixed_local = re.sub(r"\.{2,}", ".", local).strip(".")
        if fixed_local != local and _LOCAL.fullmatch(fixed_local):
            inner = check_email(f"{fixed_local}@{domain}", known)
            return EmailCheck(problem="local", suggestion=inner.suggestion or inner.email)
        return EmailCheck(problem="local")
    if not _valid_domain(domain):
        fixed = _repair_domain(domain, known)
        return EmailCheck(problem="domain", suggestion=f"{local}@{fixed}" if fixed else None)
    better = suggest_domain(domain, known)
    return EmailCheck(email=text, suggestion=f"{local}@{better}" if better else None)


def _valid_domain(domain: str) -> bool:
    labels = domain.split(".")
    if len(labels) < 2 or len(domain) > 253:
        return False
    return all(_LABEL.fullmatch(label) for label in labels) and bool(_TLD.fullmatch(labels[-1]))


def _repair_domain(domain: str, known: frozenset[str]) -> str | None:
    """A broken domain that is one obvious fix away from a real one."""
    cleaned = re.sub(r"\.{2,}", ".", domain).strip(".-")
    if cleaned != domain and _valid_domain(cleaned):
        return suggest_domain(cleaned, known) or cleaned
    if "." not in cleaned:  # "gmail" -> gmail.com
        matches = sorted(d for d in known if d.split(".")[0] == cleaned)
        if len(matches) >= 1:
            return matches[0]
        fixed = _SUFFIX_FIXES.get(cleaned)
        return fixed if fixed and _valid_domain(fixed) else None
    close = _closest(cleaned, known, 2)
    return close


def _missing_at(text: str, known: frozenset[str]) -> str | None:
    """ "samgmail.com" -> "sam@gmail.com", when the text ends with a known domain."""
    for domain in sorted(known, key=len, reverse=True):
        if text.endswith(domain) and len(text) > len(domain):
            local = text[: -len(domain)].rstrip(".")
            if local and _LOCAL.fullmatch(local):
                return f"{local}@{domain}"
    return None


def suggest_domain(domain: str, known: frozenset[str]) -> str | None:
    """A likely intended domain for a valid-looking one, or None if it looks fine."""
    if domain in known:
        return None
    labels = domain.split(".")
    for take in (2, 1):
        if len(labels) > take:
            tail = ".".join(labels[-take:])
            fixed_tail = _SUFFIX_FIXES.get(tail)
            if fixed_tail:
                fixed = ".".join([*labels[:-take], fixed_tail])
                return suggest_domain(fixed, known) or fixed
    return _closest(domain, known, 2 if len(domain) >= 8 else 1)


def _closest(domain: str, known: Iterable[str], limit: int) -> str | None:
    best: tuple[int, str] | None = None
    institutional = domain.endswith(_INSTITUTIONAL)
    for candidate in known:
        if abs(len(candidate) - len(domain)) > limit:
            continue
        if institutional and not candidate.endswith(_INSTITUTIONAL):
            continue
        distance = edit_distance(domain, candidate)
        if distance <= limit and (best is None or (distance, candidate) < best):
            best = (distance, candidate)
    return best[1] if best else None


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions and
    transpositions of neighbours each count 1 ("gmial" -> "gmail" is one slip)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def domain_allowed(email: str, allowed: frozenset[str]) -> bool:
    """Empty allow-list: everyone. Otherwise the domain or any subdomain of a listed one."""
    if not allowed:
        return True
    domain = email.rpartition("@")[2]
    return any(domain == d or domain.endswith("." + d) for d in allowed)
