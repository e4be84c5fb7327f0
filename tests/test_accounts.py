"""Password guessing is throttled on both sign-in pages; password reset needs email."""

import importlib

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import RequestFactory, override_settings
from django.urls import clear_url_caches

from passline.accounts import client_ip

pytestmark = pytest.mark.django_db

PASSWORD = "right-horse-battery-1"


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    """Hash with MD5 here: the tests below try dozens of passwords; PBKDF2 is slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice():
    return get_user_model().objects.create_user("alice", password=PASSWORD)


@pytest.fixture
def root():
    return get_user_model().objects.create_superuser("root", password=PASSWORD)


def sign_in(client, path: str, username: str, password: str, address="10.0.0.1"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in_as(client) -> str | None:
    user_id = client.session.get("_auth_user_id")
    return get_user_model().objects.get(pk=user_id).username if user_id else None


@pytest.mark.parametrize(
    ("path", "who"), [("/accounts/login/", "alice"), ("/admin/login/", "root")]
)
def test_30_wrong_passwords_then_the_right_one_is_refused_until_unlocked(
    client, alice, root, path, who
):
    for _ in range(30):
        response = sign_in(client, path, who, "guess")
        assert response.status_code in (200, 429)  # the form again, then the lockout page
    response = sign_in(client, path, who, PASSWORD)
    assert response.status_code == 429
    assert response["Retry-After"] == "3600"
    page = response.content.decode()
    assert "Sign-in blocked" in page
    assert "after 10 wrong passwords" in page and "60 minutes" in page
    assert f"manage.py axes_reset_username {who}" in page
    assert signed_in_as(client) is None

    call_command("axes_reset_username", who)
    response = sign_in(client, path, who, PASSWORD)
    assert response.status_code == 302
    assert signed_in_as(client) == who


def test_lockout_is_keyed_by_user_name_and_address(client, alice, root):
    for _ in range(10):
        sign_in(client, "/accounts/login/", "alice", "guess", address="10.0.0.1")
    assert sign_in(client, "/accounts/login/", "alice", PASSWORD).status_code == 429
    # The same address may still sign in as someone else ...
    assert sign_in(client, "/accounts/login/", "root", PASSWORD).status_code == 302
    client.logout()
    # ... and Alice from her own address (the guesser does not lock her out everywhere).
    assert sign_in(client, "/accounts/login/", "alice", PASSWORD, "10.0.0.2").status_code == 302


def test_a_few_mistakes_then_success_resets_the_count(client, alice):
    for _ in range(9):
        sign_in(client, "/accounts/login/", "alice", "typo")
    assert sign_in(client, "/accounts/login/", "alice", PASSWORD).status_code == 302
    client.logout()
    for _ in range(9):
        sign_in(client, "/accounts/login/", "alice", "typo")
    assert sign_in(client, "/accounts/login/", "alice", PASSWORD).status_code == 302


def test_behind_a_proxy_the_client_is_the_address_the_proxy_appended():
    factory = RequestFactory()
    forged = factory.get("/", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.9", REMOTE_ADDR="10.0.0.5")
    other = factory.get("/", HTTP_X_FORWARDED_FOR="2.2.2.2, 203.0.113.9", REMOTE_ADDR="10.0.0.5")
    with override_settings(PASSLINE_PROXY_HOPS=1):
        assert client_ip(forged) == client_ip(other) == "203.0.113.9"
        assert client_ip(factory.get("/", REMOTE_ADDR="10.0.0.5")) == "10.0.0.5"
    with override_settings(PASSLINE_PROXY_HOPS=0):  # no proxy: the header is the client's
        assert client_ip(forged) == "10.0.0.5"


def test_password_reset_is_off_without_email(client):
    assert client.get("/accounts/password_reset/").status_code == 404
    assert "Forgot your password" not in client.get("/accounts/login/").content.decode()


@pytest.fixture
def reset_urls():
    """Mount the URLs as with EMAIL_URL set, then restore them."""
    import passline.auth_urls
    import passline.urls

    def reload():
        importlib.reload(passline.auth_urls)
        importlib.reload(passline.urls)
        clear_url_caches()

    with override_settings(
        PASSLINE_PASSWORD_RESET=True, EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"
    ):
        reload()
        yield
    reload()


def test_password_reset_works_when_email_is_configured(client, alice, reset_urls, mailoutbox):
    alice.email = "alice@example.com"
    alice.save()
    assert "Forgot your password" in client.get("/accounts/login/").content.decode()
    response = client.post("/accounts/password_reset/", {"email": "alice@example.com"})
    assert response.status_code == 302
    assert len(mailoutbox) == 1 and "/accounts/reset/" in mailoutbox[0].body
