"""Make and check API tokens without touching the database.

A token looks like ``pl_u_<40 base62 chars>_<6 base62 chars>``:

- ``pl_`` makes it recognisable to people and to secret scanners;
- ``u`` or ``r`` is the scope letter (upload or read);
- 40 random base62 characters from :mod:`secrets` (about 238 bits);
- a CRC-32 of everything before it, in base62, so that a typo or a truncated
  copy-paste is refused without a database query.

Only the sha256 hex digest of the whole token is stored. The *prefix* (``pl_u_`` plus
the first 8 random characters) is not secret: it finds the row and is shown in lists.
"""

import hashlib
import hmac
import re
import secrets
import string
import zlib

ALPHABET = string.digits + string.ascii_letters  # base62
SCOPE_LETTERS = {"upload": "u", "read": "r"}
RANDOM_LENGTH = 40
PREFIX_RANDOM_LENGTH = 8
CHECKSUM_LENGTH = 6  # 62**6 > 2**32, so any CRC-32 fits

_TOKEN_RE = re.compile(
    rf"^(pl_[ur]_[0-9A-Za-z]{{{RANDOM_LENGTH}}})_([0-9A-Za-z]{{{CHECKSUM_LENGTH}}})$"
)
# Longer than any valid token; stops hashing megabytes sent by a hostile client.
MAX_TOKEN_LENGTH = 128


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits)).rjust(width, "0")


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def token_digest(raw: str) -> str:
    """Return the sha256 hex digest stored for a token."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def token_generate(scope: str) -> tuple[str, str, str]:
    """Return a new ``(token, prefix, digest)`` for scope ``"upload"`` or ``"read"``.

    Raise ValueError for an unknown scope.
    """
    try:
        letter = SCOPE_LETTERS[scope]
    except KeyError:
        raise ValueError(f"unknown token scope {scope!r}; use 'upload' or 'read'") from None
    random_part = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    body = f"pl_{letter}_{random_part}"
    token = f"{body}_{_checksum(body)}"
    prefix = body[: len("pl_u_") + PREFIX_RANDOM_LENGTH]
    return token, prefix, token_digest(token)


def token_parse(raw: str) -> tuple[str, str] | None:
    """Return ``(prefix, digest)`` of a well-formed token, or None.

    None means malformed: wrong shape, wrong scope letter or a checksum mismatch.
    A well-formed token may still be unknown, revoked or expired.
    """
    if not isinstance(raw, str) or len(raw) > MAX_TOKEN_LENGTH:
        return None
    match = _TOKEN_RE.match(raw)
    if match is None:
        return None
    body, checksum = match.groups()
    if not hmac.compare_digest(_checksum(body), checksum):
        return None
    return body[: len("pl_u_") + PREFIX_RANDOM_LENGTH], token_digest(raw)


def digests_match(stored: str, presented: str) -> bool:
    """Compare two hex digests in constant time."""
    return hmac.compare_digest(stored.encode("ascii"), presented.encode("ascii"))
