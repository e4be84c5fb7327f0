"""The JUnit reader refuses hostile or broken input with a clear JUnitError."""

import io

import pytest

from ingest.junit import JUnitError, ReportLimits, ReportReader
from ingest.reports import sniff  # the upload API's head check


def read_all(data: bytes, limits: ReportLimits | None = None) -> ReportReader:
    reader = ReportReader(io.BytesIO(data), limits or ReportLimits())
    for _record in reader:
        pass
    return reader


def refusal(data: bytes, limits: ReportLimits | None = None) -> JUnitError:
    with pytest.raises(JUnitError) as caught:
        read_all(data, limits)
    assert caught.value.detail
    return caught.value


@pytest.mark.parametrize("data", [b"", b"   \n\t ", b"\xef\xbb\xbf  \n"])
def test_refuses_empty_input(data):
    assert refusal(data).code == "empty"
    with pytest.raises(JUnitError) as caught:
        sniff(data)
    assert caught.value.code == "empty"


@pytest.mark.parametrize(
    "data, line, column",
    [
        (b"this is not XML", 1, 1),
        (b"\n<?xml version='1.0'?><testsuite/>", 2, 6),
        (b'<testsuite>\n  <testcase name="a<b"/>\n</testsuite>', 2, 20),
        (b"<testsuite><testcase></testsuite>", 1, 34),
    ],
)
def test_refuses_malformed_xml_with_line_and_column(data, line, column):
    error = refusal(data)
    assert error.code == "malformed"
    assert (error.line, error.column) == (line, column)
    assert error.detail.startswith(f"line {line}, column {column}: ")


def test_refuses_a_truncated_report_only_when_it_is_complete():
    truncated = b'<testsuites><testsuite name="s"><testcase name="a"><skipped'
    sniff(truncated)  # the upload API's head may be cut anywhere
    with pytest.raises(JUnitError) as caught:
        sniff(truncated, complete=True)
    assert caught.value.code == "malformed"
    assert refusal(truncated).code == "malformed"


def test_refuses_a_report_cut_inside_cdata_with_a_readable_reason():
    error = refusal(b"<testsuite><testcase><system-out><![CDATA[half")
    assert error.code == "malformed"
    assert "Unregistered" not in error.detail


@pytest.mark.parametrize(
    "data, root",
    [
        (b"<test-run><test-case/></test-run>", "test-run"),
        (b'<assemblies><assembly name="x"/></assemblies>', "assemblies"),
        (b'<nothing><testcase name="a"/></nothing>', "nothing"),
        (b'<ns2:test-suite xmlns:ns2="urn:allure"/>', "test-suite"),
    ],
)
def test_refuses_other_roots_naming_them(data, root):
    error = refusal(data)  # the JUnit reader reads JUnit only
    assert error.code == "not_junit"
    assert f"<{root}>" in error.detail
    if root in ("test-run", "assemblies"):
        assert sniff(data) in ("nunit3", "xunit")  # other readers take these
        return
    with pytest.raises(JUnitError) as caught:
        sniff(data)
    assert caught.value.code == "not_junit"


def test_refuses_a_doctype_even_a_harmless_one():
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE testsuite>\n<testsuite><testcase name="a"/></testsuite>'
    )
    assert refusal(data).code == "doctype_forbidden"
    with pytest.raises(JUnitError) as caught:
        sniff(data)
    assert caught.value.code == "doctype_forbidden"


@pytest.mark.parametrize(
    "declaration",
    [
        '<!ENTITY xxe SYSTEM "file://{secret}">',
        '<!ENTITY % remote SYSTEM "file://{secret}"> %remote;',
        '<!ENTITY xxe SYSTEM "http://127.0.0.1:9/{secret}">',
    ],
)
def test_xxe_probe_never_reads_the_file(tmp_path, monkeypatch, declaration):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    requested = []
    monkeypatch.setattr(
        "ingest.junit.prolog.RefuseResolver.resolve",
        lambda self, url, public_id, context: requested.append(url),
    )
    data = (
        '<?xml version="1.0"?>\n'
        f"<!DOCTYPE testsuite [{declaration.format(secret=secret)}]>\n"
        '<testsuite name="&xxe;"><testcase name="&xxe;" classname="c"/></testsuite>'
    ).encode()
    with pytest.raises(JUnitError) as caught:
        sniff(data)
    assert caught.value.code == "doctype_forbidden"
    error = refusal(data)
    assert error.code == "doctype_forbidden"
    assert "TOP-SECRET" not in error.detail
    assert requested == []  # nothing was asked of lxml's resolvers either


def test_billion_laughs_is_refused_without_expansion():
    entities = "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    data = (
        f'<!DOCTYPE testsuite [<!ENTITY lol0 "lol">{entities}]>'
        '<testsuite><testcase name="&lol9;"/></testsuite>'
    ).encode()
    assert refusal(data).code == "doctype_forbidden"


def test_doctype_text_inside_cdata_is_allowed():
    data = (
        b'<testsuite><testcase name="page"><system-out><![CDATA[<!DOCTYPE html><html/>]]>'
        b"</system-out></testcase></testsuite>"
    )
    sniff(data, complete=True)
    assert read_all(data).testcases == 1


def test_refuses_nesting_deeper_than_the_limit():
    data = b"<testsuites>" + b"<testsuite>" * 40 + b"</testsuite>" * 40 + b"</testsuites>"
    error = refusal(data)
    assert error.code == "too_deep"
    assert "32" in error.detail


def test_refuses_deep_testcases_at_the_configured_limit():
    data = b"<testsuite><testsuite><testsuite><testcase/></testsuite></testsuite></testsuite>"
    assert read_all(data, ReportLimits(max_depth=4)).testcases == 1
    assert refusal(data, ReportLimits(max_depth=3)).code == "too_deep"


def test_refuses_nesting_beyond_the_xml_parser_limit_as_too_deep():
    data = b"<testsuite>" + b"<a>" * 300 + b"</a>" * 300 + b"</testsuite>"
    assert refusal(data).code == "too_deep"


def test_refuses_more_testcases_than_the_limit():
    data = b"<testsuite>" + b'<testcase name="t"/>' * 11 + b"</testsuite>"
    assert read_all(data, ReportLimits(max_testcases=11)).testcases == 11
    error = refusal(data, ReportLimits(max_testcases=10))
    assert error.code == "too_many_testcases"
    assert "10" in error.detail


@pytest.mark.parametrize("length", [101, 150, 5000, 2_000_000])
def test_truncates_huge_names_and_keeps_the_test(length):
    long = "n" * length
    data = (
        f'<testsuite name="{long}"><testcase classname="{long}" name="{long}" file="{long}"/>'
        "</testsuite>"
    ).encode()
    reader = ReportReader(io.BytesIO(data), ReportLimits(max_name_length=100))
    [record] = list(reader)
    for value in (record.classname, record.name, record.file, record.suite):
        assert len(value) == 100
        assert value.endswith("…")
    assert any("truncated" in w for w in reader.warnings)


def test_warnings_stay_short_for_many_bad_times():
    data = b"<testsuite>" + b'<testcase name="t" time="nan"/>' * 1000 + b"</testsuite>"
    reader = read_all(data)
    assert len(reader.warnings) == 1
    assert "999 more" in reader.warnings[0]


def test_non_finite_and_negative_times_become_zero():
    data = (
        b'<testsuite><testcase name="a" time="inf"/><testcase name="b" time="-0.5"/>'
        b'<testcase name="c" time="NaN"/><testcase name="d" time="1e400"/></testsuite>'
    )
    records = list(ReportReader(io.BytesIO(data)))
    assert [r.duration for r in records] == [0.0, 0.0, 0.0, 0.0]


def test_a_reader_is_iterated_once():
    reader = ReportReader(io.BytesIO(b"<testsuite/>"))
    assert list(reader) == []
    with pytest.raises(RuntimeError):
        list(reader)


def test_head_check_accepts_a_valid_report_cut_anywhere():
    data = b'<?xml version="1.0"?>\n<testsuites>' + b'<testcase name="t"/>' * 100
    for cut in (5, 30, 60, len(data)):
        sniff(data[:cut])


def test_a_long_comment_before_the_root_costs_no_memory_and_is_read():
    data = b"<!--" + b"x" * 300_000 + b'--><testsuite><testcase name="a"/></testsuite>'
    assert read_all(data).testcases == 1


def test_a_document_of_comments_only_is_refused():
    assert refusal(b"<!-- nothing -->\n<!-- here -->").code == "malformed"


def test_doctype_text_in_cdata_before_a_syntax_error_is_reported_as_malformed():
    data = b"<testsuite><system-out><![CDATA[<!DOCTYPE html>]]></system-out><oops></testsuite>"
    assert refusal(data).code == "malformed"
    with pytest.raises(JUnitError) as caught:
        sniff(data)
    assert caught.value.code == "malformed"


def test_utf16_doctype_is_refused():
    data = '\ufeff<!DOCTYPE testsuite><testsuite><testcase name="a"/></testsuite>'
    assert refusal(data.encode("utf-16-le")).code == "doctype_forbidden"
