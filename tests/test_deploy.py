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
