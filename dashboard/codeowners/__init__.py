"""A project's CODEOWNERS: set it (service, API, command, settings page)."""
