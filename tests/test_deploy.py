"""deploy/: the images' Dockerfiles linted by hadolint, the compose file's topology and
references checked (and `docker compose config` when a Compose is installed), nginx's sticky
rules loaded by a real nginx, and the Kubernetes manifests validated offline against the API's
schemas (kubernetes-validate) and read for what the design promises."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.channels.channel_kit import free_port
from tests.test_nginx_sticky import render
from xiaobao.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
DOCKERFILES = sorted(DEPLOY.glob("Dockerfile.*"))
#: the platform's process roles; `scheduler` comes with the process-roles work
ROLES = {("serve",), ("scheduler",), ("db", "upgrade")}


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return data


def k8s() -> list[dict[str, Any]]:
    return [doc for path in sorted((DEPLOY / "k8s").glob("*.yaml"))
            for doc in yaml.safe_load_all(path.read_text()) if doc]


# ---- images ------------------------------------------------------------------------------------

def test_dockerfiles_are_hadolint_clean() -> None:
    assert {p.name for p in DOCKERFILES} == {"Dockerfile.platform", "Dockerfile.bot",
                                             "Dockerfile.nginx"}
    done = subprocess.run([str(BIN / "hadolint"), *map(str, DOCKERFILES)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name,python", [("Dockerfile.platform", "3.11"),
                                         ("Dockerfile.bot", "3.10")])
def test_images_are_pinned_small_and_not_root(name: str, python: str) -> None:
    text = (DEPLOY / name).read_text()
    bases = re.findall(r"^FROM (\S+)", text, re.M)
    assert bases and all(re.fullmatch(rf"python:{python}\.\d+-slim-bookworm", b) for b in bases)
    final = text.rsplit("\nFROM ", 1)[1]  # what the image keeps: no compiler, no pip run
    assert not re.search(r"apt-get|gcc|build-essential|pip install", final)
    assert re.search(r"^USER 10001$", final, re.M)
    for source in re.findall(r"^COPY (?!--from)(\S+)", text, re.M):
        assert (ROOT / source).exists() or source == "models/", source
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".venv-bot", "var", ".git", "tests"} <= set(ignored)


# ---- compose -----------------------------------------------------------------------------------

def test_compose_has_the_cluster_topology() -> None:
    services = compose()["services"]
    platform = {n: s for n, s in services.items() if s.get("image", "").startswith(
        "xiaobao/platform")}
    roles = sorted(tuple(s["command"][:2] if s["command"][0] == "db" else s["command"][:1])
                   for s in platform.values())
    assert roles == [("db", "upgrade"), ("scheduler",), ("serve",), ("serve",)]
    bots = [s for s in services.values() if s.get("image", "").startswith("xiaobao/bot")]
    rasa = [s for s in bots if "entrypoint" in s]
    assert len(rasa) == 2 and len(bots) - len(rasa) == 2
    assert {s["environment"]["XIAOBAO_ACTIONS_URL"] for s in rasa} == {
        "http://actions-1:5055", "http://actions-2:5055"}
    assert {"postgres", "redis", "minio", "nginx"} <= set(services)


def test_compose_references_exist() -> None:
    services = compose()["services"]
    parser = build_parser()
    known = {r for r in ROLES if _parses(parser, [*r])}
    assert ROLES - known <= {("scheduler",)}  # the roles work adds it; the file names it now
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        if "build" in service:
            assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]
                    ).is_file(), name
        for other in service.get("depends_on", {}):
            assert other in services, (name, other)
        if service.get("image", "").startswith("xiaobao/platform"):
            command = service["command"]
            role = tuple(command[:2]) if command[0] == "db" else (command[0],)
            assert role in ROLES, name
            if role in known:  # the whole command line, as the CLI takes it
                assert _parses(parser, command), name
        if service.get("image", "").startswith("xiaobao/bot"):
            words = " ".join(service.get("entrypoint") or []) + " " + " ".join(
                service.get("command") or [])
            for path in re.findall(r"(?:bot|deploy)/[\w./-]+|(?<=--actions )\w+", words):
                assert (ROOT / path).exists(), (name, path)


def _parses(parser: Any, argv: list[str]) -> bool:
    try:
        parser.parse_args(argv)
    except SystemExit:
        return False
    return True


def test_compose_keeps_state_in_three_volumes_and_secrets_out() -> None:
    data = compose()
    assert set(data["volumes"]) == {"postgres-data", "redis-data", "minio-data"}
    for name, service in data["services"].items():
        mounts = service.get("volumes", [])
        assert all(m.split(":")[0] in data["volumes"] for m in mounts), name
        if mounts:
            assert name in ("postgres", "redis", "minio")
        env = service.get("environment", {})
        assert not any(re.search(r"PASSWORD|SECRET|TOKEN|KEY", k) for k in env), name
    assert not (DEPLOY / "compose.env").exists() or "deploy/compose.env" in (
        ROOT / ".gitignore").read_text()
    example = dict(line.split("=", 1) for line in
                   (DEPLOY / "compose.env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    for key, value in example.items():
        if re.search(r"PASSWORD|SECRET|TOKEN|_KEYS?$", key):
            assert "change-me" in value or "demo" in value, key


def test_every_server_has_a_healthcheck_on_its_health_page() -> None:
    services = compose()["services"]
    for name in ("platform-1", "platform-2", "nginx"):
        assert "/healthz" in " ".join(services[name]["healthcheck"]["test"]), name
    for name in ("actions-1", "actions-2"):
        assert "/health'" in " ".join(services[name]["healthcheck"]["test"]), name
    for name in ("postgres", "redis", "minio", "rasa-1", "rasa-2"):
        assert services[name]["healthcheck"]["test"], name


def test_compose_config_when_a_compose_is_installed(tmp_path: Path) -> None:
    tool = ([shutil.which("docker-compose")] if shutil.which("docker-compose") else
            [shutil.which("docker"), "compose"] if shutil.which("docker") and subprocess.run(
                ["docker", "compose", "version"], capture_output=True).returncode == 0 else None)
    if tool is None or tool[0] is None:
        pytest.skip("neither docker-compose nor the docker compose plugin is installed")
    shutil.copytree(DEPLOY, tmp_path / "deploy")
    shutil.copy(DEPLOY / "compose.env.example", tmp_path / "deploy" / "compose.env")
    done = subprocess.run([*tool, "-f", str(tmp_path / "deploy" / "compose.yaml"), "config",
                           "-q"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_nginx_takes_the_compose_rendering_of_the_template(tmp_path: Path) -> None:
    """The nginx service's variables fill every placeholder of the one template, and nginx
    loads the result (the compose network's names pointed at local ports)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.skip("nginx is not installed (make nginx)")
    values = compose()["services"]["nginx"]["environment"]
    site = render(values)
    assert "${" not in site and "hash $xiaobao_sender consistent" in site
    for host in ("platform-1", "platform-2"):  # names the compose network resolves
        assert f"server {host}:8000;" in site
        site = site.replace(f"{host}:8000", f"127.0.0.1:{free_port()}")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{free_port()};")
    site = site.replace("/dev/stdout", str(tmp_path / "access.log"))
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
                    f"events {{}}\nhttp {{\n  client_body_temp_path {tmp_path};\n{site}\n}}\n")
    done = subprocess.run([nginx, "-t", "-c", str(conf), "-p", str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# ---- Kubernetes --------------------------------------------------------------------------------

def test_manifests_validate_against_the_kubernetes_schemas() -> None:
    files = sorted(map(str, (DEPLOY / "k8s").glob("*.yaml")))
    done = subprocess.run([str(BIN / "kubernetes-validate"), "--strict", "--quiet",
                           "-k", "1.30.0", *files], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_manifests_keep_the_design() -> None:
    docs = k8s()
    kinds = {d["kind"] for d in docs}
    assert "StatefulSet" not in kinds and "PersistentVolumeClaim" not in kinds
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(deployments) == {"platform", "scheduler", "rasa-1", "rasa-2", "actions-1",
                                "actions-2"}
    assert deployments["scheduler"]["spec"]["replicas"] == 1
    for name, d in deployments.items():
        pod = d["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        container = pod["containers"][0]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
        if name != "scheduler":  # serves no HTTP today (scheduler.yaml says why)
            assert {"readinessProbe", "livenessProbe"} <= set(container), name
    platform = deployments["platform"]["spec"]["template"]["spec"]["containers"][0]
    assert platform["readinessProbe"]["httpGet"]["path"] == "/healthz?parts=database"
    assert platform["args"][0] == "serve"
    job = next(d for d in docs if d["kind"] == "Job")
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["db", "upgrade"]
    hpas = {d["spec"]["scaleTargetRef"]["name"]: d for d in docs
            if d["kind"] == "HorizontalPodAutoscaler"}
    assert set(hpas) == {"rasa-1", "rasa-2"}
    assert all(h["spec"]["metrics"][0]["resource"]["name"] == "cpu" for h in hpas.values())
    budgets = {d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for d in docs
               if d["kind"] == "PodDisruptionBudget"}
    assert budgets == set(deployments)
    hashes = {d["spec"]["rules"][0]["http"]["paths"][0]["path"]:
              d["metadata"]["annotations"].get("nginx.ingress.kubernetes.io/upstream-hash-by")
              for d in docs if d["kind"] == "Ingress"}
    assert hashes["/wechat"] == "$arg_openid" and hashes["/"] is None
    assert "xb_chat" in hashes["/chat"] and "call_id" in hashes["/ivr"]


def test_secrets_are_templates_only() -> None:
    secrets = [d for d in k8s() if d["kind"] == "Secret"]
    assert secrets
    for secret in secrets:
        assert "data" not in secret  # nothing encoded that could hide a real value
        for key, value in secret["stringData"].items():
            assert "REPLACE_ME" in value, key
    settings = next(d for d in k8s() if d["kind"] == "ConfigMap")["data"]
    assert not any(re.search(r"PASSWORD|SECRET|TOKEN|_KEY$", k) for k in settings)
    assert settings["XIAOBAO_FILES_URL"].startswith("s3://")
