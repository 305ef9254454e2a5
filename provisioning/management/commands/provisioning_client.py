"""The school-side Provisioning Client: upload one extract to the portal and wait for its report.

Rules: the token is the school's (manage.py provisioning_token CODE); the extract is sent over HTTPS as the
request body and queued; the portal applies it and this command polls the run until it finishes (or --no-wait).
Exit status: 0 applied (or superseded: a newer extract of the school was applied first, so the portal is up
to date), 2 held for approval, 1 failed. A school over its hourly upload limit gets the portal's
message and how many seconds to wait (HTTP 429, Retry-After); nothing was sent to the queue.
"""

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

FINAL = {"applied", "held", "rejected", "failed", "superseded", "expired"}


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--url", required=True, help="the portal, e.g. https://ump.example.org")
        parser.add_argument("--token", required=True)
        parser.add_argument("--format", default="auto", choices=("auto", "mis-csv", "oneroster"))
        parser.add_argument("--no-wait", action="store_true")
        parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the run")
        parser.add_argument("--poll", type=float, default=2.0, help="seconds between status checks")

    def handle(self, *args, file, url, token, format, no_wait, timeout, poll, verbosity, **options):  # noqa: A002
        if not file.is_file():
            raise CommandError(f"{file} is not a file.")
        base = url.rstrip("/")
        if urllib.parse.urlsplit(base).scheme not in ("http", "https"):
            raise CommandError("--url must be http(s).")
        endpoint = f"{base}/api/provisioning/extracts/?format={urllib.parse.quote(format)}"
        body = file.read_bytes()
        result = self._call("POST", endpoint, token, body)
        run_id = result["run"]
        if verbosity:
            self.stdout.write(f"Queued run {run_id}.")
        if no_wait:
            self.stdout.write(json.dumps(result))
            return
        deadline = time.monotonic() + timeout
        while result.get("status") not in FINAL:
            if time.monotonic() > deadline:
                raise CommandError(f"Run {run_id} had not finished after {timeout:.0f} s.")
            time.sleep(poll)  # waiting on a remote server, not on local work
            result = self._call("GET", f"{base}/api/provisioning/runs/{run_id}/", token)
        self.stdout.write(json.dumps(result, indent=2 if verbosity > 1 else None))
        if result["status"] == "failed":
            raise CommandError(result.get("error", "failed"))
        if result["status"] == "held":
            raise SystemExit(2)

    def _call(self, method, url, token, body=None):
        request = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - scheme checked above
        request.add_header("Authorization", f"Bearer {token}")
        request.add_header("Accept", "application/json")
        if body is not None:
            request.add_header("Content-Type", "application/octet-stream")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            try:
                message = json.loads(detail).get("message", "")
            except (ValueError, AttributeError):
                message = ""
            if exc.code == 429 and message:
                retry = exc.headers.get("Retry-After", "?")
                raise CommandError(f"{message} (HTTP 429, Retry-After: {retry} s)") from exc
            raise CommandError(f"The portal answered {exc.code}: {message or detail}") from exc
        except urllib.error.URLError as exc:
            raise CommandError(f"Could not reach the portal: {exc.reason}") from exc
