"""Encrypt the credentials of integrations at rest (Fernet, keys from the environment).

``PASSLINE_SECRETS_KEY`` holds one or more comma-separated keys (any strings; each is
stretched to a Fernet key with SHA-256). The first encrypts; every key decrypts, so a key
is rotated by putting the new one first, running ``manage.py rotatesecrets`` (which
re-encrypts every stored credential with it) and then removing the old one. Without
``PASSLINE_SECRETS_KEY`` the key is derived from ``SECRET_KEY``: changing ``SECRET_KEY``
then makes stored credentials unreadable (they must be entered again), which is why a
deployment sets its own ``PASSLINE_SECRETS_KEY``.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """A stored credential was encrypted with a key that is no longer configured."""


UNREADABLE = "stored credential cannot be decrypted with the configured keys"


def _fernet_key(material: str) -> bytes:
    digest = hashlib.sha256(b"passline-secrets:" + material.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def _keys() -> list[str]:
    configured = [k.strip() for k in settings.PASSLINE_SECRETS_KEY.split(",") if k.strip()]
    return configured or [settings.SECRET_KEY]


def _cipher() -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(k)) for k in _keys()])


def secret_encrypt(plaintext: str) -> str:
    """Return ``plaintext`` encrypted with the current first key ("" stays "")."""
    if not plaintext:
        return ""
    return _cipher().encrypt(plaintext.encode()).decode()


def secret_decrypt(ciphertext: str) -> str:
    """Return the plaintext of ``ciphertext``; raise SecretUnreadable with no matching key."""
    if not ciphertext:
        return ""
    try:
        return _cipher().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "stored credential cannot be decrypted with the configured keys"
        ) from exc


def secret_rotate(ciphertext: str) -> str:
    """Return ``ciphertext`` re-encrypted with the first key."""
    if not ciphertext:
        return ""
    try:
        return _cipher().rotate(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "stored credential cannot be decrypted with the configured keys"
        ) from exc
