"""Connect a project to GitHub or GitLab: ``manage.py setforge <slug> github --repo o/r …``.

The token is read from a file (``--token-file``) or an environment variable
(``--token-env``), never from the command line, and stored encrypted. ``--off`` removes
the integration.
"""

from django.core.management.base import BaseCommand, CommandError

from notify.management.commands._common import credential_read, project_get
from notify.models import GATES
from notify.services import InvalidIntegration, forge_remove, forge_set


class Command(BaseCommand):
    help = "Set (or turn off) a project's GitHub or GitLab integration."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The project's slug.")
        parser.add_argument("forge", nargs="?", choices=["github", "gitlab"])
        parser.add_argument("--repo", help="GitHub: owner/name.")
        parser.add_argument("--project-id", help="GitLab: the project's id (or its path).")
        parser.add_argument(
            "--api-url",
            default="",
            help="https://api.github.com (default), GitHub Enterprise's https://HOST/api/v3, "
            "https://gitlab.com/api/v4 (default) or a self-managed GitLab's.",
        )
        parser.add_argument("--token-file", help="A file holding the token.")
        parser.add_argument("--token-env", help="An environment variable holding the token.")
        parser.add_argument(
            "--gates",
            default="new-failures",
            help=f"Gates that make the commit status fail, comma-separated ({', '.join(GATES)}).",
        )
        parser.add_argument("--off", action="store_true", help="Remove the integration.")

    def handle(
        self,
        *args,
        slug,
        forge,
        repo,
        project_id,
        api_url,
        token_file,
        token_env,
        gates,
        off,
        **options,
    ):
        project = project_get(slug)
        if off:
            removed = forge_remove(project=project)
            self.stdout.write(
                f"Forge integration of {slug} removed." if removed else f"{slug} had none."
            )
            return
        if forge is None:
            raise CommandError("name the forge (github or gitlab), or pass --off")
        if bool(token_file) == bool(token_env):
            raise CommandError("give exactly one of --token-file F or --token-env VAR")
        target = repo if forge == "github" else project_id
        if not target:
            raise CommandError(
                "--repo owner/name is required for github"
                if forge == "github"
                else "--project-id is required for gitlab"
            )
        token = credential_read(file=token_file, env=token_env, what="token")
        chosen = [g.strip() for g in gates.split(",") if g.strip()]
        unknown = sorted(set(chosen) - set(GATES))
        if unknown:
            raise CommandError(
                f"unknown gates: {', '.join(unknown)} (choose from {', '.join(GATES)})"
            )
        try:
            integration = forge_set(
                project=project,
                kind=forge,
                repo=target,
                token=token,
                api_url=api_url,
                gates=chosen,
            )
        except InvalidIntegration as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{integration.get_kind_display()} integration of {slug}: {integration.repo} via "
            f"{integration.api_url}; status context passline/{slug}, failing on "
            f"{', '.join(integration.gates) or 'no gate'}."
        )
