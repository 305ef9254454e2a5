"""What runs the workers restarts them: read from the deployment files as written (no Docker engine here)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _service(compose: str, name: str) -> str:
    """One service's block of docker-compose.yml: from `  name:` to the next service or top-level key."""
    match = re.search(rf"^  {name}:\n(.*?)(?=^  \S|^\S)", compose, re.M | re.S)
    assert match, f"no {name} service"
    return match.group(1)


def test_the_compose_worker_is_health_checked_against_its_own_node_and_restarted():
    worker = _service((ROOT / "docker-compose.yml").read_text(), "worker")
    assert "--hostname worker@%h" in worker
    assert re.search(r"healthcheck:\n\s+test: .*inspect ping --destination worker@\$\$HOSTNAME", worker)
    assert "kill -QUIT 1" in worker  # Docker restarts what exits, never what is only unhealthy
    assert "restart: unless-stopped" in worker


def test_the_compose_workers_split_the_queues_and_the_bulk_one_yields_the_cpu():
    compose = (ROOT / "docker-compose.yml").read_text()
    worker, bulk = _service(compose, "worker"), _service(compose, "worker-provisioning")
    assert re.search(r"--queues celery\s", worker) and "cpu_shares" not in worker
    assert re.search(r"--queues provisioning\s", bulk) and "--hostname provisioning@%h" in bulk
    assert int(re.search(r"cpu_shares: (\d+)", bulk).group(1)) < 1024  # Docker's default weight, the web's
    assert re.search(r"healthcheck:\n\s+test: .*inspect ping --destination provisioning@\$\$HOSTNAME", bulk)
    assert "kill -QUIT 1" in bulk and "restart: unless-stopped" in bulk


def test_the_systemd_workers_split_the_queues_and_the_bulk_one_yields_the_cpu():
    folder = ROOT / "deploy" / "systemd"
    assert "--queues celery " in (folder / "ump-worker.service").read_text()
    bulk = (folder / "ump-worker-provisioning.service").read_text()
    assert "--queues provisioning " in bulk and "--hostname provisioning@%%h" in bulk
    assert int(re.search(r"^CPUWeight=(\d+)$", bulk, re.M).group(1)) < 100  # systemd's default weight
    assert re.search(r"^Restart=always$", bulk, re.M) and re.search(r"^StartLimitIntervalSec=0$", bulk, re.M)
    ping = (folder / "ump-worker-ping.service").read_text()
    assert (
        "--destination provisioning@%H" in ping
        and "systemctl restart ump-worker-provisioning.service" in ping
    )


def test_the_systemd_units_restart_for_ever():
    folder = ROOT / "deploy" / "systemd"
    for unit in ("ump-worker.service", "ump-beat.service"):
        text = (folder / unit).read_text()
        assert re.search(r"^Restart=always$", text, re.M), unit
        assert re.search(r"^StartLimitIntervalSec=0$", text, re.M), unit
    ping = (folder / "ump-worker-ping.service").read_text()
    assert "inspect ping --destination worker@%H" in ping and "systemctl restart ump-worker.service" in ping
    assert "Unit=" not in (folder / "ump-worker-ping.timer").read_text()  # it starts its namesake service
    assert "--hostname worker@%%h" in (folder / "ump-worker.service").read_text()


def test_the_readme_says_how():
    readme = (ROOT / "README.md").read_text()
    assert "## Keeping workers alive" in readme and "deploy/systemd/" in readme


def test_a_web_worker_freezes_what_it_loaded_out_of_the_garbage_collector():
    """ump/wsgi.py, as gunicorn loads it in each worker: Django and the apps are moved out of the collector's
    generations (gc.freeze), so that the collections requests trigger do not walk them again and again."""
    import os
    import subprocess
    import sys

    code = "import gc; assert gc.get_freeze_count() == 0; import ump.wsgi; print(gc.get_freeze_count())"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ump.settings"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) > 10_000  # Django's modules alone are tens of thousands of objects
