"""Structured logs: key=value by default, JSON with LOG_FORMAT=json, ids from extra=."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from passline.logging import JsonFormatter, KeyValueFormatter

REPO_ROOT = Path(__file__).resolve().parent.parent


def make_record(message="upload processed", extra=None, exc_info=None):
    record = logging.getLogger("passline.ingest").makeRecord(
        "passline.ingest", logging.INFO, __file__, 1, message, (), exc_info, extra=extra
    )
    return record


def test_key_value_lines_carry_extra_ids():
    line = KeyValueFormatter().format(make_record(extra={"upload_id": 7, "run_id": 3}))
    assert " level=INFO logger=passline.ingest " in line
    assert line.endswith('msg="upload processed" upload_id=7 run_id=3')


def test_key_value_quotes_values_so_a_message_cannot_forge_fields_or_lines():
    line = KeyValueFormatter().format(
        make_record("bad\nts=0 level=ERROR", extra={"detail": 'a "b" = c'})
    )
    assert "\n" not in line
    assert 'msg="bad\\nts=0 level=ERROR"' in line
    assert 'detail="a \\"b\\" = c"' in line


@pytest.mark.parametrize("name", ["a\rts=0 level=ERROR", "a\r\nb", "a\x1bc", "a\u2028b", "a\x85b"])
def test_key_value_escapes_cr_lf_and_other_breaks_from_uploaded_names(name):
    line = KeyValueFormatter().format(make_record("file refused", extra={"upload_file": name}))
    assert len(line.splitlines()) == 1  # str.splitlines splits on every one of these
    assert line.endswith(f"upload_file={json.dumps(name, ensure_ascii=True)}")


def test_key_value_traceback_lines_are_indented_so_none_passes_for_a_record():
    try:
        raise ValueError("bad name\rts=0 level=ERROR msg=forged\nts=1 level=ERROR")
    except ValueError:
        record = make_record("failed", exc_info=sys.exc_info())
    first, *rest = KeyValueFormatter().format(record).splitlines()
    assert first.startswith("ts=") and first.endswith("msg=failed")
    assert rest and all(line.startswith("\t") for line in rest)
    assert any("ts=0 level=ERROR msg=forged" in line for line in rest)


def test_json_line_escapes_unicode_line_breaks():
    line = JsonFormatter().format(make_record("x", extra={"upload_file": "a\u2028b\rc"}))
    assert len(line.splitlines()) == 1
    assert json.loads(line)["upload_file"] == "a\u2028b\rc"


def test_json_lines_are_one_object_with_extra_keys_and_traceback():
    try:
        raise ValueError("boom")
    except ValueError:
        record = make_record("failed", extra={"upload_id": 9}, exc_info=sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["upload_id"] == 9 and data["msg"] == "failed" and data["level"] == "INFO"
    assert "ValueError: boom" in data["exc"]
    assert data["ts"].endswith("+00:00")


@pytest.mark.parametrize(("log_format", "is_json"), [("json", True), ("", False), ("kv", False)])
def test_log_format_env_selects_the_formatter(log_format, is_json):
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('passline.ingest').warning('hi', extra={'upload_id': 5})"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "passline.settings",
            "SECRET_KEY": os.environ["SECRET_KEY"],
        }
        | ({"LOG_FORMAT": log_format} if log_format else {}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = result.stderr.strip().splitlines()[-1]
    if is_json:
        assert json.loads(line)["upload_id"] == 5
    else:
        assert line.endswith("logger=passline.ingest msg=hi upload_id=5")
