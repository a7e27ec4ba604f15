"""Start the test OpenID provider: `python tests/oidc_provider/serve.py SPEC.json`.

SPEC names the SQLite file, the RSA keys, the one client (Portico) with its redirect URI, and the users with their
passwords and groups. The provider migrates its own database, adds them, listens on a free port of 127.0.0.1,
prints `listening on <port>` as its only line on stdout, and serves until it is terminated. Requests are logged to
stderr.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/, so `oidc_provider` imports
os.environ["DJANGO_SETTINGS_MODULE"] = "oidc_provider.settings"
os.environ["OIDC_PROVIDER_SPEC"] = str(Path(sys.argv[1]).resolve())

import django

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from oauth2_provider.models import Application  # noqa: E402


def seed(spec: dict) -> None:
    for person in spec["users"]:
        user = User.objects.create_user(
            person["username"],
            email=person["email"],
            password=person["password"],
            first_name=person.get("first_name", ""),
            last_name=person.get("last_name", ""),
        )
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in person.get("groups", [])])
    client = spec["client"]
    Application.objects.create(
        name="Portico",
        client_id=client["id"],
        client_secret=client["secret"],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=client["redirect_uri"],
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=False,  # the consent page is part of the flow under test
    )


def main() -> None:
    spec = json.loads(Path(os.environ["OIDC_PROVIDER_SPEC"]).read_text())
    call_command("migrate", verbosity=0, interactive=False)
    seed(spec)
    server = ThreadedWSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    server.set_app(get_wsgi_application())
    sys.stdout.write(f"listening on {server.server_port}\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
