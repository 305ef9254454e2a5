#!/usr/bin/env python
"""Rush hour: sign-ins, group resets and View Learners against gunicorn and a real worker, with and without the
national hourly delta applying.

A synthetic Wales (bench/provision_wales.py's generator: 1,470 schools, 470,000 learners, 35,000 staff) is
provisioned into a database of the benchmark's own. Then gunicorn (as docker-compose runs it: 3 sync workers)
and two real Celery workers (concurrency 2 each) start on 127.0.0.1, as deployed: one for the default queue
(group resets), and one for the provisioning queue (the sync; CELERY_TASK_ROUTES) at a lower CPU priority
(nice --bulk-nice, for its session too: standing in for docker-compose's cpu_shares). Then an open-loop load
runs at fixed rates: arrivals are scheduled, so a slow server shows as latency (measured from each arrival's
scheduled time), never as a lower rate.

  sign-in        20 a second: GET the form, POST it with its CSRF token (a fresh client each time), for distinct
                 learners and staff: half sign in for the first time (from the sealed copy of the password the
                 provisioning gave them: argon2 hash stored then), half again (argon2 check)
  View Learners  10 a second: a signed-in teacher of a secondary school requests the learners page with a mix of
                 searches, filters, sorts and pages
  group reset    5 a minute: a signed-in teacher opens the confirm page of a registration group of about 30 and
                 posts it; the default queue's worker then applies it. "request" is the POST; "finished" is when the job status
                 (polled each second, as the progress page does) says done. A reset that fails, or has not
                 finished 180 s after its POST was answered, is an error.

Two phases of --seconds each: a baseline with no sync, then the same load while the hourly sweep
(provisioning.tasks.apply_queued_runs, as beat sends it) applies every school's queued extracts (bench/
provision_wales.py's delta: 1% changed, 0.5% joiners, 0.5% leavers, 200 transfers; a pupil and a staff extract
per school), sent as the phase starts. Each phase's arrivals stop after --seconds and what is in flight is
waited for; the second phase's figures are of the arrivals scheduled while the sync ran (those after it, if
it finished first, are shown apart), and the sync's own time is how long it took to leave no run queued or
running. Where the CPU went is shown per phase (gunicorn, each worker, this load generator, and how busy the
whole machine was): with latencies far over the targets, it says whether the portal or the machine was short.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ump_bench .venv/bin/python bench/rush_hour.py \
        [--schools 1470] [--seconds 60] [--redis redis://127.0.0.1:6379/3]

Targets (issue 11): 0 errors; sign-in p95 <= 1 s; View Learners p95 <= 250 ms.
"""

import argparse
import contextlib
import http.client
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode, urlsplit

PARSER = argparse.ArgumentParser(description=__doc__.splitlines()[0])
PARSER.add_argument("--schools", type=int, default=1470, help="schools in the synthetic Wales (1,470)")
PARSER.add_argument("--seconds", type=float, default=60, help="length of each phase")
PARSER.add_argument("--signins", type=float, default=20, help="sign-ins a second")
PARSER.add_argument("--views", type=float, default=10, help="View Learners requests a second")
PARSER.add_argument("--resets", type=float, default=5, help="group resets a minute")
PARSER.add_argument("--web-workers", type=int, default=3, help="gunicorn workers (docker-compose: 3)")
PARSER.add_argument(
    "--worker-concurrency", type=int, default=2, help="processes of each Celery worker (compose: 2)"
)
PARSER.add_argument(
    "--bulk-nice",
    type=int,
    default=10,
    help="nice value of the provisioning queue's worker and its session (0: same as the rest)",
)
PARSER.add_argument("--jobs", type=int, default=2, help="processes for the initial provisioning (set-up)")
PARSER.add_argument("--max-sync-seconds", type=float, default=900, help="give up on the sync after this")
PARSER.add_argument(
    "--redis",
    default=os.environ.get("RUSH_REDIS_URL", "redis://127.0.0.1:6379/3"),
    help="Redis for the broker and cache of the services started here (never db 0 on a shared server)",
)
PARSER.add_argument("--seed", type=int, default=2026)
ARGS = PARSER.parse_args() if __name__ == "__main__" else PARSER.parse_args([])

# The services started here and this process must share the broker, keys and upload folder: set before Django.
UPLOADS = tempfile.mkdtemp(prefix="ump-rush-")
os.environ["REDIS_URL"] = ARGS.redis
os.environ["CELERY_BROKER_URL"] = ARGS.redis
os.environ["UMP_UPLOAD_DIR"] = UPLOADS
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ump_bench")

from _common import ROOT, drop, percentile, test_database  # noqa: E402
from provision_wales import Wales, extracts_of, make_organisations, provision  # noqa: E402

# Named after DATABASE_URL's database, so that two people benchmarking on one server never drop each other's.
DB = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/") + "_rush_hour"
PASSWORD = "Rush-hour-2026!"  # the returning sign-ins' and the teachers' password (one argon2 hash for all)
VIEW_QUERIES = [
    {}, {"q": "jones"}, {"q": "Gwenll"}, {"q": "ap rh"}, {"q": "000123"}, {"q": "zzz"}, {"active": "N"},
    {"active": "Y", "q": "evans"}, {"year": "9"}, {"reg": "10B"}, {"sort": "-adno"}, {"page": "5"},
    {"q": "w", "sort": "forename", "page": "3"},
]  # fmt: skip
RESET_TIMEOUT = 180
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


# ---------------------------------------------------------------- a small HTTP client


class Client:
    """Cookies and one request at a time over a fresh connection (gunicorn's sync workers close each one)."""

    def __init__(self, port):
        self.port = port
        self.cookies = {}
        self.lock = threading.Lock()

    def request(self, method, path, form=None, timeout=60):
        headers = {"Host": "127.0.0.1", "Accept-Language": "en"}
        with self.lock:
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            for cookie in response.headers.get_all("Set-Cookie") or []:
                name, _, value = cookie.split(";", 1)[0].partition("=")
                with self.lock:
                    self.cookies[name.strip()] = value.strip()
            return response.status, response.getheader("Location", ""), data
        finally:
            conn.close()

    def csrf_form(self, path):
        status, _location, data = self.request("GET", path)
        match = CSRF.search(data)
        if status != 200 or match is None:
            raise Failure(f"GET {path.split('?')[0]}: {status}")
        return match.group(1).decode()

    def sign_in(self, username, password):
        token = self.csrf_form("/login/")
        status, location, _data = self.request(
            "POST", "/login/", {"csrfmiddlewaretoken": token, "username": username, "password": password}
        )
        if status != 302 or "/login/" in location:
            raise Failure(f"sign-in refused: {status}")


class Failure(Exception):
    pass


# ---------------------------------------------------------------- the load


class Load:
    """Open-loop arrivals of each kind at fixed rates; every sample is (kind, scheduled, finished, error)."""

    def __init__(self, port, signers, teachers, groups):
        self.port = port
        self.signers = signers  # (username, password), used in turn
        self.teachers = teachers  # signed-in Clients
        self.groups = groups  # (teacher index, school code, reg group)
        self.samples = []
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=256)
        self.next_signer = 0
        self.next_group = 0
        self.rng = random.Random(ARGS.seed)

    def record(self, kind, scheduled, error=None):
        with self.lock:
            self.samples.append((kind, scheduled, time.monotonic(), error))

    def sign_in(self, scheduled):
        with self.lock:
            username, password = self.signers[self.next_signer % len(self.signers)]
            self.next_signer += 1
        try:
            Client(self.port).sign_in(username, password)
            self.record("sign-in", scheduled)
        except Exception as exc:  # every failure is an error of the benchmark
            self.record("sign-in", scheduled, repr(exc))

    def view(self, scheduled):
        with self.lock:
            client = self.rng.choice(self.teachers)
            params = self.rng.choice(VIEW_QUERIES)
        try:
            status, _location, _data = client.request("GET", "/users/learners/?" + urlencode(params))
            self.record("view", scheduled, None if status == 200 else f"status {status}")
        except Exception as exc:
            self.record("view", scheduled, repr(exc))

    def reset(self, scheduled):
        with self.lock:
            teacher, code, group = self.groups[self.next_group % len(self.groups)]
            self.next_group += 1
        client = self.teachers[teacher]
        query = {"org": code, "group_kind": "reg", "group": group}
        try:
            token = client.csrf_form("/groups/reset/confirm/?" + urlencode(query))
            status, location, _data = client.request(
                "POST", "/groups/reset/confirm/", {"csrfmiddlewaretoken": token, **query}
            )
            job = re.search(r"/groups/reset/(\d+)/", location)
            if status != 302 or job is None:
                raise Failure(f"reset refused: {status}")
            self.record("reset", scheduled)
        except Exception as exc:
            self.record("reset", scheduled, repr(exc))
            self.record("reset-done", scheduled, "not started")
            return
        import json

        deadline = time.monotonic() + RESET_TIMEOUT  # from the answer to its POST
        time.sleep(0.5)
        while True:
            try:
                status, _location, data = client.request("GET", f"/groups/reset/{job.group(1)}/status/")
                state = json.loads(data) if status == 200 else {}
            except Exception:  # the page polls again after a failed fetch
                state = {}
            if state.get("finished"):
                error = None if state.get("status") == "done" else f"job {state.get('status')}"
                self.record("reset-done", scheduled, error)
                return
            if time.monotonic() > deadline:
                self.record("reset-done", scheduled, "not finished in time")
                return
            time.sleep(1)

    def run(self, seconds):
        """Arrivals for `seconds`, then wait for what is in flight; returns (start, end of arrivals)."""
        start = time.monotonic()
        stop = threading.Event()
        kinds = [(self.sign_in, ARGS.signins), (self.view, ARGS.views), (self.reset, ARGS.resets / 60)]

        def arrivals(fn, rate, offset):
            n = 0
            while True:
                at = start + offset + n / rate
                if at - start >= seconds:
                    break
                if stop.is_set():
                    return
                delay = at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                self.pool.submit(fn, at)
                n += 1

        threads = [
            threading.Thread(target=arrivals, args=(fn, rate, i * 0.013), daemon=True)
            for i, (fn, rate) in enumerate(kinds)
            if rate > 0
        ]
        for t in threads:
            t.start()
        try:
            for t in threads:
                t.join()
        finally:
            stop.set()
        end = time.monotonic()
        # wait for what is in flight (a reset may take a while to finish)
        self.pool.shutdown(wait=True)
        self.pool = ThreadPoolExecutor(max_workers=256)
        return start, end


# ---------------------------------------------------------------- set-up


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_env():
    from django.conf import settings

    db = settings.DATABASES["default"]
    url = urlsplit(os.environ["DATABASE_URL"])
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url._replace(path="/" + db["NAME"]).geturl(),
        DJANGO_DEBUG="false",
        SECURE_COOKIES="false",  # plain HTTP on 127.0.0.1
        SECURE_HSTS_SECONDS="0",
        AXES_ENABLED="true",  # the product as it runs
        PYTHONUNBUFFERED="1",
    )
    return env


# The Celery workers as deployed (docker-compose.yml): name, the queue it takes, its node name's prefix.
WORKERS = [("worker", "celery", "rush"), ("provisioning worker", "provisioning", "rushbulk")]
SERVICES = ["gunicorn"] + [name for name, _queue, _prefix in WORKERS]


class Services:
    """gunicorn and the two Celery workers in process groups of their own, stopped however the benchmark ends.

    Each runs in a session of its own, as each runs in a container of its own under docker-compose. With the
    kernel's autogroups (Linux's default) a session shares the CPU as one, as a container's cgroup does, and a
    nice value counts only against processes of the same session: so the provisioning worker is niced and its
    session's weight lowered too (/proc/PID/autogroup), as compose's cpu_shares lowers its container's.
    """

    def __init__(self, logdir):
        self.logdir = Path(logdir)
        self.procs = []
        self.port = free_port()

    def start(self):
        env = service_env()
        bin_dir = Path(sys.executable).parent
        # as the image is built: whitenoise serves the collected, hashed static files
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
            cwd=ROOT, env=env, check=True,
        )  # fmt: skip
        self._spawn(
            "gunicorn",
            [str(bin_dir / "gunicorn"), "ump.wsgi", "--bind", f"127.0.0.1:{self.port}", "--workers",
             str(ARGS.web_workers), "--timeout", "60"],
            env,
        )  # fmt: skip
        from django.conf import settings

        for name, queue, prefix in WORKERS:
            self._spawn(
                name,
                [str(bin_dir / "celery"), "-A", "ump", "worker", "--queues", queue,
                 "--hostname", f"{prefix}{os.getpid()}@%h", "--loglevel", "WARNING",
                 "--concurrency", str(ARGS.worker_concurrency), "--without-gossip", "--without-mingle"],
                env,
                nice=ARGS.bulk_nice if queue == settings.UMP_BULK_QUEUE else 0,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        answer = None
        while True:
            try:
                answer = Client(self.port).request("GET", "/login/", timeout=5)[0]
                if answer == 200:
                    break
            except OSError as exc:
                answer = exc
            self.check()
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer /login/ within 60 s (last: {answer})")
            time.sleep(0.2)
        from ump.celery import app

        for name, _queue, prefix in WORKERS:
            while not app.control.ping(
                destination=[f"{prefix}{os.getpid()}@{socket.gethostname()}"], timeout=1
            ):
                self.check()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the {name} did not answer within 60 s")

    def _spawn(self, name, argv, env, nice=0):
        log = (self.logdir / f"{name}.log").open("wb")
        if nice:
            argv = ["nice", "-n", str(nice), *argv]
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        if nice:
            # no autogroups here (OSError): the nice value alone ranks it
            with contextlib.suppress(OSError):
                Path(f"/proc/{proc.pid}/autogroup").write_text(str(nice))
        self.procs.append((name, proc))

    def check(self):
        for name, proc in self.procs:
            if proc.poll() is not None:
                tail = (self.logdir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited ({proc.returncode}):\n{tail}")

    def stop(self):
        for _name, proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _name, proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs = []


def seed(wales):
    """Provision the country; choose who signs in, the teachers, and the groups they reset."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from accounts.models import Account, Organisation
    from accounts.sealing import unseal, upn_hash
    from passwords.models import ShownPassword

    orgs = make_organisations(wales)
    # Rush hour is the start of the school day: staff sign in from their school's network, where the second
    # step is not asked (MFA is on for every non-learner elsewhere, and none here has a factor set up).
    Organisation.objects.update(trusted_networks=["127.0.0.0/8"])
    start = time.perf_counter()
    provision(extracts_of(wales), orgs, ARGS.jobs, 50)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"provisioned in {time.perf_counter() - start:.1f} s", flush=True)
    rng = random.Random(ARGS.seed)
    hashed = make_password(PASSWORD)
    # teachers: one staff member at each of up to 20 secondary schools, with groups of 25-35 learners to reset
    secondaries = [s[0] for s in wales.schools if s[3] == "secondary"][1:21]
    teachers, groups = [], []
    for code in secondaries:
        teacher = (
            Account.objects.filter(organisation=orgs[code], kind=Account.Kind.STAFF).order_by("pk").first()
        )
        Account.objects.filter(pk=teacher.pk).update(password=hashed)
        teachers.append(teacher.username)
        sizes = {}
        for reg in Account.objects.filter(organisation=orgs[code], kind=Account.Kind.LEARNER).values_list(
            "registration_group", flat=True
        ):
            sizes[reg] = sizes.get(reg, 0) + 1
        groups += [(len(teachers) - 1, code, g) for g, n in sorted(sizes.items()) if 25 <= n <= 35]
    rng.shuffle(groups)
    # who signs in: learners the delta leaves where they are, and staff, away from the teachers' schools
    before = {(code, r[2]) for code, rows in wales.learners.items() for r in rows}
    counts = wales.delta()
    after = {(code, r[2]) for code, rows in wales.learners.items() for r in rows}
    needed = int(ARGS.signins * ARGS.seconds * 3) + 200
    excluded = set(secondaries)
    stay = sorted(upn for code, upn in before & after if code not in excluded)
    hashes = [upn_hash(u) for u in rng.sample(stay, min(len(stay), needed * 4 // 5))]
    ids = list(Account.objects.filter(upn_hash__in=hashes).values_list("pk", flat=True))
    staff = Account.objects.filter(kind=Account.Kind.STAFF).exclude(organisation__code__in=excluded)
    ids += list(
        staff.exclude(username__in=teachers).order_by("?").values_list("pk", flat=True)[: needed // 5]
    )
    rng.shuffle(ids)
    returning = ids[::2]  # signed in before: argon2 check; the rest sign in for the first time
    Account.objects.filter(pk__in=returning).update(password=hashed)
    sealed = dict(ShownPassword.objects.filter(account_id__in=ids).values_list("account_id", "sealed"))
    usernames = dict(Account.objects.filter(pk__in=ids).values_list("pk", "username"))
    first = set(ids[1::2])
    signers = [(usernames[pk], unseal(sealed[pk]) if pk in first else PASSWORD) for pk in ids]
    print(
        f"{len(signers)} people to sign in ({len(first)} for the first time), {len(teachers)} teachers, "
        f"{len(groups)} groups of 25-35 to reset",
        flush=True,
    )
    return orgs, teachers, groups, signers, counts


def queue_delta(wales, orgs):
    """Record every school's pupil and staff extract as queued runs, as a day's uploads leave them."""
    from provisioning.models import ProvisioningRun
    from provisioning.runs import run_create

    start = time.perf_counter()
    for code, (pupils, staff) in extracts_of(wales).items():
        for data in (pupils, staff):
            run_create(organisation=orgs[code], data=data, source=ProvisioningRun.Source.COMMAND)
    n = ProvisioningRun.objects.filter(status=ProvisioningRun.Status.QUEUED).count()
    print(f"{n} runs queued in {time.perf_counter() - start:.1f} s", flush=True)


class Sync:
    """The hourly sweep, sent to the worker as beat sends it; finished when no run is queued or running."""

    def __init__(self):
        self.started = self.finished = None
        self.error = None

    def start(self):
        from provisioning import tasks

        self.started = time.monotonic()
        tasks.apply_queued_runs.delay()
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self):
        from django.db import connection

        from provisioning.models import ProvisioningRun

        try:
            pending = [ProvisioningRun.Status.QUEUED, ProvisioningRun.Status.RUNNING]
            while time.monotonic() - self.started < ARGS.max_sync_seconds:
                if not ProvisioningRun.objects.filter(status__in=pending).exists():
                    self.finished = time.monotonic()
                    return
                time.sleep(0.25)
            self.error = f"not finished after {ARGS.max_sync_seconds:.0f} s"
        finally:
            connection.close()

    def done(self):
        return self.finished is not None or self.error is not None


# ---------------------------------------------------------------- where the CPU went

TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[2]), (int(fields[11]) + int(fields[12])) / TICK  # process group, user + system seconds


def cpu_snapshot(services):
    """CPU seconds so far of the processes of gunicorn and of each worker,
    this process (the load), and the whole machine (busy, all cores)."""
    groups = {proc.pid: name for name, proc in services.procs}
    out = {name: {} for name in SERVICES}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        info = _proc_cpu(pid)
        if info is None:
            continue
        if info[0] in groups:
            out[groups[info[0]]][pid] = info[1]
    out["load"] = time.process_time()
    cpu = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ticks = [int(v) for v in cpu]
    out["machine"] = ((sum(ticks) - ticks[3] - ticks[4]) / TICK, sum(ticks) / TICK)  # busy, total
    return out


def cpu_used(before, after):
    used = {}
    for name in SERVICES:
        used[name] = sum(v - before[name].get(pid, 0.0) for pid, v in after[name].items())
    used["load generator"] = after["load"] - before["load"]
    busy = after["machine"][0] - before["machine"][0]
    total = after["machine"][1] - before["machine"][1]
    used["machine"] = busy / total if total else 0.0
    return used


def show_cpu(used, seconds, arrivals):
    parts = ", ".join(f"{k} {used[k]:.1f} s ({used[k] / seconds:.2f} cores)" for k in list(used)[:-1])
    print(f"  CPU over the {seconds:.0f} s to the last answer: {parts}")
    print(
        f"  the machine (all its users) was {used['machine'] * 100:.0f}% busy of {os.cpu_count()} cores;"
        f" the load asked gunicorn for {used['gunicorn'] / arrivals:.2f} cores ({arrivals:.0f} s of arrivals)"
    )


# ---------------------------------------------------------------- report

LABELS = {
    "sign-in": "sign-in",
    "view": "View Learners",
    "reset": "group reset (request)",
    "reset-done": "group reset (finished)",
}


def summarise(samples, start, end):
    """Per kind: count, errors, p50, p95, max (seconds) of the arrivals scheduled in [start, end)."""
    out = {}
    for kind in LABELS:
        chosen = [s for s in samples if s[0] == kind and start <= s[1] < end]
        times = [s[2] - s[1] for s in chosen if s[3] is None]
        errors = [s[3] for s in chosen if s[3] is not None]
        out[kind] = {
            "n": len(chosen),
            "errors": errors,
            "p50": percentile(times, 0.5) if times else None,
            "p95": percentile(times, 0.95) if times else None,
            "max": max(times) if times else None,
        }
    return out


def show(title, stats, seconds):
    def ms(v):
        return "      -" if v is None else f"{v * 1000:7.0f}"

    print(f"\n{title} ({seconds:.0f} s of arrivals, load average {load_average()})")
    print(f"  {'':24} {'n':>5} {'rate/s':>7} {'errors':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}")
    for kind, label in LABELS.items():
        s = stats[kind]
        print(
            f"  {label:24} {s['n']:5d} {s['n'] / seconds:7.2f} {len(s['errors']):6d}"
            f" {ms(s['p50'])} {ms(s['p95'])} {ms(s['max'])}"
        )
        for error in sorted(set(s["errors"]))[:5]:
            print(f"      error x{s['errors'].count(error)}: {error[:200]}")


def load_average():
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def verdict(stats):
    errors = sum(len(s["errors"]) for s in stats.values())
    signin, view = stats["sign-in"]["p95"], stats["view"]["p95"]
    checks = [
        ("errors", errors == 0, f"{errors} (target 0)"),
        (
            "sign-in p95",
            signin is not None and signin <= 1.0,
            f"{(signin or 0) * 1000:.0f} ms (target <= 1000)",
        ),
        (
            "View Learners p95",
            view is not None and view <= 0.25,
            f"{(view or 0) * 1000:.0f} ms (target <= 250)",
        ),
    ]
    return checks


def main():
    main_pid = os.getpid()

    def interrupted(signum, frame):
        if os.getpid() != main_pid:  # a forked set-up process (provision's pool) that is being stopped
            os._exit(128 + signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    print(f"load average at start {load_average()}; {os.cpu_count()} CPUs", flush=True)
    scale = ARGS.schools / 1470
    print(f"Generating Wales at {ARGS.schools} schools ...", flush=True)
    wales = Wales(scale, ARGS.seed)
    n_learners, n_staff = wales.counts()
    print(f"{len(wales.schools)} schools, {n_learners} learners, {n_staff} staff", flush=True)
    logs = tempfile.mkdtemp(prefix="ump-rush-logs-")
    services = Services(logs)
    test_database(DB)
    load = None
    try:
        orgs, teacher_names, groups, signers, delta = seed(wales)
        services.start()
        print(
            f"gunicorn on 127.0.0.1:{services.port} ({ARGS.web_workers} workers), the default queue's worker and"
            f" the provisioning queue's (nice {ARGS.bulk_nice}) up; logs in {logs}"
        )
        teachers = []
        for username in teacher_names:
            client = Client(services.port)
            client.sign_in(username, PASSWORD)
            teachers.append(client)
        load = Load(services.port, signers, teachers, groups)
        # warm-up: each gunicorn worker loads its templates and connections
        for _i in range(3 * ARGS.web_workers):
            load.view(time.monotonic())
            load.sign_in(time.monotonic())
        load.samples.clear()

        print(f"\nbaseline: {ARGS.seconds:.0f} s, no sync ...", flush=True)
        cpu_before = cpu_snapshot(services)
        b_start, b_end = load.run(ARGS.seconds)
        cpu_after = cpu_snapshot(services)
        services.check()
        baseline = summarise(load.samples, b_start, b_end)
        show("Baseline, no sync", baseline, b_end - b_start)
        show_cpu(cpu_used(cpu_before, cpu_after), time.monotonic() - b_start, b_end - b_start)
        load.samples.clear()

        print(
            f"\ndelta: {delta[0]} changed, {delta[1]} leavers, {delta[2]} transfers, 0.5% joiners", flush=True
        )
        queue_delta(wales, orgs)
        sync = Sync()
        print("with the hourly sync ...", flush=True)
        cpu_before = cpu_snapshot(services)
        sync.start()
        s_start, s_end = load.run(ARGS.seconds)
        cpu_after = cpu_snapshot(services)
        services.check()
        answered = time.monotonic()
        while not sync.done():
            time.sleep(0.25)
        sync_end = min(sync.finished or s_end, s_end)
        during = summarise(load.samples, s_start, sync_end)
        show("While the national hourly delta applied", during, sync_end - s_start)
        show_cpu(cpu_used(cpu_before, cpu_after), answered - s_start, s_end - s_start)
        if s_end - sync_end > 1:
            show(
                "The rest of the phase, after the sync",
                summarise(load.samples, sync_end, s_end),
                s_end - sync_end,
            )

        from provisioning.models import ProvisioningRun

        by_status = {}
        for status in ProvisioningRun.objects.values_list("status", flat=True):
            by_status[status] = by_status.get(status, 0) + 1
        print(
            f"\nsync: {'not finished: ' + sync.error if sync.error else f'{sync.finished - sync.started:.1f} s'}"
            f" for {sum(by_status.values())} runs ({', '.join(f'{k} {v}' for k, v in sorted(by_status.items()))})"
        )
        print(f"load average at the end {load_average()}")
        print()
        ok = sync.error is None and by_status.get("failed", 0) == 0
        for title, stats in (("baseline", baseline), ("during sync", during)):
            for name, passed, text in verdict(stats):
                ok &= passed
                print(f"  {'PASS' if passed else 'FAIL'}  {title:12} {name:18} {text}")
        print(f"\n{'PASS' if ok else 'FAIL'}")
        return 0 if ok else 1
    finally:
        if load is not None:  # interrupted: what has not started never will
            load.pool.shutdown(wait=False, cancel_futures=True)
        services.stop()
        from django.db import connection

        connection.close()
        drop(DB)
        shutil.rmtree(UPLOADS, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
