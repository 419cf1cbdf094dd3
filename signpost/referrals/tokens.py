"""Referral tokens: short, random, easy to read aloud, never mistaken for an NHS number; kept only as an HMAC."""

import hashlib
import hmac
import re
import secrets

# No 0/O, 1/I/L: nothing a listener can mishear or a reader misread. 31 symbols, 12 of them: about 59 bits.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LETTERS = frozenset(c for c in ALPHABET if c.isalpha())
GROUPS = 3
GROUP_SIZE = 4
_SEPARATORS = re.compile(r"[\s\-_.]+")


def new_token() -> str:
    """A fresh token such as `K7QP-3MXA-9RTB`: every group holds a letter, so it never reads as an NHS number."""
    groups: list[str] = []
    while len(groups) < GROUPS:
        group = "".join(secrets.choice(ALPHABET) for _ in range(GROUP_SIZE))
        # There is no check digit either: nothing about it follows the NHS number's modulus 11 rule.
        if LETTERS.intersection(group):
            groups.append(group)
    return "-".join(groups)


def normalise(text: str) -> str | None:
    """The token as typed or read out (any case, spaces or dashes), in its printed form; None if it cannot be one."""
    compact = _SEPARATORS.sub("", text or "").upper()
    if len(compact) != GROUPS * GROUP_SIZE or any(c not in ALPHABET for c in compact):
        return None
    return "-".join(compact[i : i + GROUP_SIZE] for i in range(0, len(compact), GROUP_SIZE))


def token_hmac(secret_key: str, token: str) -> str:
    """What is stored and looked up: an HMAC under the server's secret, so the table cannot be read back to tokens."""
    return hmac.new(secret_key.encode(), b"referral-token\x00" + token.encode(), hashlib.sha256).hexdigest()
