"""Keyed hashes for emails and codes (HMAC-SHA256), so neither is stored in clear.

Why keyed: a six-digit code has only a million values, so a plain hash is reversed by trying
them all; with a secret key a leaked table is useless without the key too. Emails are hashed
the same way so the rate-limit table holds no address of anyone who never finished linking.
The key is OTP_SECRET, or a random one the bot keeps in `ptl_bot.secrets` (storage/otp.py).
"""

from __future__ import annotations

import hashlib
import hmac


def email_hash(key: bytes, email: str) -> str:
    return hmac.new(key, b"email\0" + email.encode(), hashlib.sha256).hexdigest()


def code_hash(key: bytes, email_digest: str, code: str) -> str:
    """Bound to the email, so a code hash copied to another row proves nothing."""
    message = b"code\0" + email_digest.encode() + b"\0" + code.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
