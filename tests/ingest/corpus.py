"""The shared corpus's manifest, what passline must do with each file, and plain counts.

MANIFEST.tsv marks NUnit, xUnit.net and TRX files "NOT JUnit" (it was written for a
JUnit importer); passline reads those formats, so such a file is expected to be read
unless it is also MALFORMED. Every other "NOT JUnit" file (Allure 1, Android CTS,
Boost.Test, CTest, Robot Framework, Jenkins' internal store, ...) must still be
refused. The counts here use plain lxml, never passline's readers.
"""

import csv
import gzip
from pathlib import Path

from lxml import etree

from ingest.identity import normalise_name
from tests.conftest import CORPUS_DIR

TRX_NAMESPACE = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"
# Root element in the manifest -> the format passline reads it as.
OTHER_FORMAT_ROOTS = {
    "test-run": "nunit3",
    "test-results": "nunit2",
    "assemblies": "xunit",
    "assembly": "xunit",
    "TestRun": "trx",
}


def manifest() -> list[dict]:
    path = CORPUS_DIR / "MANIFEST.tsv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def other_format(row: dict) -> str | None:
    """Return the non-JUnit format passline must read this file as, else None."""
    if "MALFORMED" in row["notes"]:
        return None
    found = OTHER_FORMAT_ROOTS.get(row["root_element"])
    if found == "trx" and TRX_NAMESPACE not in row["notes"]:
        return None
    return found


def must_refuse(row: dict) -> bool:
    # utf-16-le-bad-encoding-name.xml declares encoding="UTF-16 LE", which libxml2
    # cannot parse; its manifest row says "(unparseable)" without MALFORMED.
    if other_format(row):
        return False
    notes = row["notes"]
    return (
        "MALFORMED" in notes
        or "NOT JUnit" in notes
        or row["root_element"] in ("(unparseable)", "(empty)")
    )


def xml_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _local(element) -> str:
    return etree.QName(element).localname


def independent_count(path: Path, fmt: str) -> tuple[int, int]:
    """Return (distinct tests, test elements) of a report, counted with plain lxml.

    JUnit: <testcase> elements, distinct (classname, name). NUnit 3: <test-case>,
    distinct fullname. NUnit 2: <test-case>, distinct name (a full name). xUnit.net:
    <test>, distinct (type, name). TRX: <UnitTestResult> without inner results,
    distinct (className of its <UnitTest> definition, testName).
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    root = etree.fromstring(xml_bytes(path), parser)
    keys: set = set()
    elements = 0
    if fmt == "junit":
        for element in root.iter("{*}testcase"):
            elements += 1
            keys.add(
                (normalise_name(element.get("classname")), normalise_name(element.get("name")))
            )
    elif fmt in ("nunit3", "nunit2"):
        attribute = "fullname" if fmt == "nunit3" else "name"
        for element in root.iter("{*}test-case"):
            elements += 1
            keys.add(normalise_name(element.get(attribute)))
    elif fmt == "xunit":
        for element in root.iter("{*}test"):
            elements += 1
            keys.add((element.get("type"), element.get("name")))
    elif fmt == "trx":
        classes = {
            unit.get("id"): method.get("className")
            for unit in root.iter(f"{{{TRX_NAMESPACE}}}UnitTest")
            for method in unit.iter(f"{{{TRX_NAMESPACE}}}TestMethod")
        }
        for result in root.iter(f"{{{TRX_NAMESPACE}}}UnitTestResult"):
            if result.find(f"{{{TRX_NAMESPACE}}}InnerResults") is not None:
                continue
            elements += 1
            keys.add((classes.get(result.get("testId")), result.get("testName")))
    else:
        raise ValueError(fmt)
    return len(keys), elements
