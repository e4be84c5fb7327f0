"""JsonStringCutter: any JSON stays valid JSON; strings over the limit become prefixes + "…"."""

import io
import json
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.reports.jsontext import JsonStringCutter, ends_outside_strings

TEXT = st.text(alphabet=st.sampled_from(["a", "é", "🐍", '"', "\\", "\n", " ", "x"]), max_size=400)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=30,
)


def cut(data: bytes, limit: int, step: int) -> tuple[bytes, int]:
    cutter = JsonStringCutter(io.BytesIO(data), limit)
    parts = []
    while piece := cutter.read(step):
        parts.append(piece)
    return b"".join(parts), cutter.cut


def pair_list(pairs: list[tuple]) -> list[list]:
    """Return a JSON object's members as [key, value] lists, duplicates kept."""
    return [[key, value] for key, value in pairs]


def strings_of(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in strings_of(v)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *strings_of(v))]
    return []


@settings(max_examples=300, deadline=None)
@given(
    JSON,
    st.sampled_from([16, 50, 300, 10_000]),
    st.sampled_from([1, 7, 64, 65536]),
    st.sampled_from([5, 33, 65536]),
)
def test_cut_json_is_valid_and_keeps_short_strings(value, limit, step, chunk):
    for ascii_only in (True, False):
        data = json.dumps(value, ensure_ascii=ascii_only).encode()
        with mock.patch("ingest.reports.jsontext.CHUNK", chunk):  # raw reads of `chunk`
            out, count = cut(data, limit, step)
        parsed = json.loads(out)
        if count == 0:
            assert parsed == value
        # Objects as lists of [key, value] pairs: two keys cut to the same prefix must
        # not merge (a dict would keep one), or the strings would no longer pair up.
        shown, cut_ = (json.loads(d, object_pairs_hook=pair_list) for d in (data, out))
        for before, after in zip(strings_of(shown), strings_of(cut_), strict=True):
            if after != before:
                assert after.endswith("…") and before.startswith(after[:-1])


def test_a_long_string_is_cut_to_the_limit():
    data = json.dumps({"a": "x" * 500_000, "b": "y"}).encode()
    out, count = cut(data, 1000, 65536)
    assert count == 1
    assert json.loads(out) == {"a": "x" * 1000 + "…", "b": "y"}


def test_parity_of_escaped_quotes():
    assert ends_outside_strings(b'{"a": "q\\"q", "b": 1}')
    assert not ends_outside_strings(b'{"a": "q\\"q')
    assert ends_outside_strings(b'{"a": "dir\\\\"}')
    assert not ends_outside_strings(b'{"a": "dir\\\\\\"')
