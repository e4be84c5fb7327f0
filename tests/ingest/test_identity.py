"""A test's identity: the 40-hex-digit key that links it across runs."""

import hashlib

from ingest import identity
from ingest.identity import identity_hasher

NAMES = [
    ("pkg.C", "test_a"),
    ("pkg.C", "test_b"),
    ("", "bare"),
    ("pkg.C", ""),
    ("Ünïcode.测试", "emoji 🐍 \U0001d518"),
    ("a.b", "c d"),
]


def test_identity_is_sha1_of_classname_nul_name():
    assert identity.test_identity("pkg.C", "test_a") == hashlib.sha1(b"pkg.C\0test_a").hexdigest()


def test_hasher_gives_the_same_identities_as_test_identity():
    hasher = identity_hasher()
    for _ in range(2):  # the second pass reuses each classname's prefix
        assert [hasher(c, n) for c, n in NAMES] == [identity.test_identity(c, n) for c, n in NAMES]


def test_hasher_forgets_prefixes_beyond_its_limit(monkeypatch):
    monkeypatch.setattr(identity, "_PREFIX_LIMIT", 3)
    hasher = identity_hasher()
    pairs = [(f"pkg.C{i % 5}", f"t{i}") for i in range(20)]
    assert [hasher(c, n) for c, n in pairs] == [identity.test_identity(c, n) for c, n in pairs]
