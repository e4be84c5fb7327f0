"""Normalise test names into the identity that links a test across runs."""

import hashlib
import unicodedata

_WHITESPACE = str.maketrans({"\t": " ", "\n": " ", "\r": " "})


def normalise_name(value: str | None) -> str:
    """Return `value` in NFC with line breaks and tabs as spaces and no outer whitespace."""
    if not value:
        return ""
    text = unicodedata.normalize("NFC", value).translate(_WHITESPACE)
    return " ".join(text.split())


def test_identity(classname: str, name: str) -> str:
    """Return the 40-hex-digit key of a test; inputs must already be normalised."""
    return hashlib.sha1(f"{classname}\0{name}".encode(), usedforsecurity=False).hexdigest()
