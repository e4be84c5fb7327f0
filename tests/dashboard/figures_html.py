"""Read the machine-readable figures of a rendered page (no tests in this module).

Templates mark the figures an element shows with ``data-figures="<JSON object>"``
(the ``figures`` template tag) inside an element with ``data-scope="overall"`` or
``data-scope="<category name>"``. Parsing the HTML, rather than searching it for
substrings, means a figure that is missing or in the wrong scope fails the test.
"""

import json
from html.parser import HTMLParser

VOID = frozenset({"br", "img", "input", "meta", "link", "hr", "source", "col", "wbr"})


class _Figures(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str | None] = []  # the scope each open element sets (or None)
        self.figures: dict[str, dict] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        scope = attrs.get("data-scope")
        if "data-figures" in attrs:
            current = scope or next((s for s in reversed(self.stack) if s), None)
            assert current is not None, f"figures {attrs['data-figures']} outside any scope"
            bucket = self.figures.setdefault(current, {})
            for name, value in json.loads(attrs["data-figures"]).items():
                if name == "flag_reason":
                    bucket.setdefault("flag_reasons", []).append(value)
                else:
                    assert name not in bucket, f"{name} shown twice in scope {current}"
                    bucket[name] = value
        if tag not in VOID:
            self.stack.append(scope)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag not in VOID and self.stack:
            self.stack.pop()


def page_figures(html: str) -> dict[str, dict]:
    """Return {scope: {figure name: value}} of a page (``flag_reasons`` as a list)."""
    parser = _Figures()
    parser.feed(html)
    return parser.figures
