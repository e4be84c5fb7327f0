"""The SSRF guard and the HTTP helpers of ``notify.transport``."""

import socket

import pytest

from notify import transport


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(address):
    assert not transport.address_allowed(address, allow_private=False)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_are_allowed(address):
    assert transport.address_allowed(address, allow_private=False)


def test_the_setting_allows_private_but_never_unspecified_or_multicast():
    assert transport.address_allowed("127.0.0.1", allow_private=True)
    assert transport.address_allowed("10.0.0.1", allow_private=True)
    assert not transport.address_allowed("0.0.0.0", allow_private=True)
    assert not transport.address_allowed("224.0.0.1", allow_private=True)


def test_request_to_a_private_literal_is_refused_before_connecting(settings, monkeypatch):
    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = False
    monkeypatch.setattr(socket.socket, "connect", lambda *a: pytest.fail("must not connect"))
    for url in (
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8/x",
    ):
        with pytest.raises(transport.Refused, match="PASSLINE_WEBHOOK_ALLOW_PRIVATE"):
            transport.request("POST", url, body=b"{}")


def test_a_name_resolving_to_any_private_address_is_refused(settings, monkeypatch):
    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = False

    def resolve(host, port, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(transport.Refused, match=r"10\.0\.0\.7"):
        transport.request("POST", "https://hooks.example.com/x", body=b"{}")


def test_the_connection_goes_to_the_address_that_was_checked(settings, monkeypatch):
    # A rebinding DNS answers differently on the second lookup; the guard looks up once.
    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = False
    answers = iter(["93.184.215.14", "127.0.0.1"])
    connected = []

    def resolve(host, port, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    def connect(self, address):
        connected.append(address)
        raise OSError("stop here")

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(socket.socket, "connect", connect)
    with pytest.raises(transport.TransportError):
        transport.request("POST", "http://rebind.example.com/x", body=b"{}")
    assert connected == [("93.184.215.14", 80)]


def test_only_http_and_https_are_allowed():
    for url in ("file:///etc/passwd", "gopher://x/", "ftp://example.com/"):
        with pytest.raises(transport.Refused):
            transport.request("GET", url)


def test_retry_after_in_seconds_or_as_a_date():
    assert transport.retry_after_seconds("120") == 120
    assert transport.retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480) == 10
    assert transport.retry_after_seconds("soon") is None
    assert transport.retry_after_seconds(None) is None


def test_link_header_is_parsed():
    header = (
        '<https://api.github.com/x?page=2>; rel="next", '
        '<https://api.github.com/x?page=5>; rel="last"'
    )
    assert transport._links(header) == {
        "next": "https://api.github.com/x?page=2",
        "last": "https://api.github.com/x?page=5",
    }
