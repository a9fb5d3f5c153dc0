"""People, queues and credentials of the peer bench database (run with the peer's virtualenv).

    bench/.peer/venv/bin/python bench/peer/bench_setup.py people
    bench/.peer/venv/bin/python bench/peer/bench_setup.py credentials --token KEY --sessions K1,K2,…
    bench/.peer/venv/bin/python bench/peer/bench_setup.py versions

`people`: the bench superuser, 5 staff managers, 4 staff technicians per community and one queue
per community (50), created through the ORM so that helpdesk's post_save signal gives every user
its UserSettings row; idempotent. `credentials`: the given DRF token and session keys (re)stored
as the bench user's (bench/peer_helpdesk.py fixes them). `versions`: the installed versions.
Each command prints one JSON object on stdout; bench/peer_helpdesk.py drives it.
"""

import argparse
import json
import os
import sys
from datetime import timedelta
from importlib import metadata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from helpdesk.models import Queue  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

BENCH_USER = "bench"
BENCH_PASSWORD = "bench-peer-password"
COMMUNITIES = 50
MANAGERS = 5
TECHS_PER_COMMUNITY = 4


def people() -> dict[str, object]:
    with transaction.atomic():
        bench = User.objects.filter(username=BENCH_USER).first()
        if bench is None:
            bench = User.objects.create_superuser(BENCH_USER, "bench@example.com", BENCH_PASSWORD)
        for n in range(MANAGERS):
            User.objects.get_or_create(
                username=f"manager-{n + 1}",
                defaults={"email": f"manager{n + 1}@example.com", "is_staff": True, "password": "!"},
            )
        for c in range(1, COMMUNITIES + 1):
            for n in range(TECHS_PER_COMMUNITY):
                User.objects.get_or_create(
                    username=f"tech-{c:02d}-{n + 1}",
                    defaults={
                        "first_name": f"技术员{c}-{n + 1}",
                        "last_name": "",
                        "email": f"tech{c:02d}{n + 1}@example.com",
                        "is_staff": True,
                        "password": "!",  # unusable: they never log in during the bench
                    },
                )
            Queue.objects.get_or_create(
                slug=f"community-{c:02d}",
                defaults={"title": f"基准小区{c} 报修与投诉", "allow_public_submission": False},
            )
    queues = list(
        Queue.objects.filter(slug__startswith="community-").order_by("slug").values_list("id", flat=True)
    )
    techs = list(
        User.objects.filter(username__startswith="tech-").order_by("username").values_list("id", flat=True)
    )
    return {"bench_user": bench.pk, "queues": queues, "techs": techs}


def credentials(token: str, session_keys: list[str]) -> dict[str, object]:
    """Make `token` the bench user's DRF token and each of `session_keys` a fresh logged-in session
    of it: the data django.contrib.auth.login() stores, expiring SESSION_COOKIE_AGE from now."""
    user = User.objects.get(username=BENCH_USER)
    with transaction.atomic():
        Token.objects.filter(user=user).exclude(key=token).delete()
        Token.objects.get_or_create(key=token, defaults={"user": user})
        Session.objects.filter(session_key__in=session_keys).delete()
        data = SessionStore().encode(
            {
                SESSION_KEY: str(user.pk),
                BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                HASH_SESSION_KEY: user.get_session_auth_hash(),
            }
        )
        expires = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
        Session.objects.bulk_create(
            [Session(session_key=key, session_data=data, expire_date=expires) for key in session_keys]
        )
    queues = Queue.objects.filter(slug__startswith="community-").order_by("slug").values_list("id", flat=True)
    return {"token": token, "sessions": len(session_keys), "queues": list(queues)}


def versions() -> dict[str, object]:
    names = ("Django", "django-helpdesk", "djangorestframework", "gunicorn", "psycopg")
    found = {name: metadata.version(name) for name in names}
    found["python"] = sys.version.split()[0]
    return found


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["people", "credentials", "versions"])
    p.add_argument("--token", default="", help="credentials: the DRF token key (40 characters)")
    p.add_argument("--sessions", default="", help="credentials: comma-separated session keys")
    args = p.parse_args()
    if args.command == "people":
        out = people()
    elif args.command == "credentials":
        out = credentials(args.token, [k for k in args.sessions.split(",") if k])
    else:
        out = versions()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
