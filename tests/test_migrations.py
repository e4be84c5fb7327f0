"""No model change is missing its migration."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_pending_migrations(capsys):
    # makemigrations --check exits non-zero (SystemExit) when a migration is missing.
    try:
        call_command("makemigrations", "--check", "--dry-run", verbosity=1)
    except SystemExit as exit_:
        pytest.fail(f"missing migrations:\n{capsys.readouterr().out}\n(exit {exit_.code})")
