"""Shared payloads and helpers of the upload API tests."""

import gzip

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from ingest.services.tokens import token_create
from tests.factories import ProjectFactory

URL = "/api/v1/uploads"

REPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="shop.tests" tests="99">
    <testcase classname="shop.tests.Cart" name="test_add" time="0.1"/>
    <testcase classname="shop.tests.Cart" name="test_remove" time="0.2">
      <failure message="boom">trace</failure>
    </testcase>
    <testcase classname="shop.tests.Cart" name="test_skip"><skipped/></testcase>
  </testsuite>
</testsuites>
"""
OTHER_REPORT = b"""<testsuite name="auth"><testcase classname="auth.Login" name="test_ok"/>
<testcase classname="auth.Login" name="test_err"><error message="x"/></testcase></testsuite>
"""


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


@pytest.fixture(autouse=True)
def _fresh_rate_limit_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def project(db):
    return ProjectFactory(slug="shop")


@pytest.fixture
def upload_token(project):
    return token_create(project=project, scope="upload", name="ci")


@pytest.fixture
def client(upload_token):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {upload_token[1]}")
    return api


def post_xml(client, body=REPORT, query="", content_type="application/xml", **headers):
    return client.generic(
        "POST", URL + (f"?{query}" if query else ""), body, content_type, headers=headers
    )
