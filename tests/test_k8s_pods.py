"""What the pods of infra/k8s run, run here: the probes answer on the real apps, identity signs with the key of its
Secret mount and writes nothing there, and every component starts from its manifest's command and environment on
a read-only root filesystem with only /tmp writable (as ``readOnlyRootFilesystem`` and the emptyDir make it)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.serve import build_app
from gateway.settings import Settings as GatewaySettings
from subgraphs.common.app import create_app
from subgraphs.common.settings import SERVICE_NAMES, Settings
from subgraphs.identity.keys import KeyStore
from subgraphs.registry import load_definition
from tests.support.client import gql
from tests.support.k8s import ROOT, SERVICES, manifests
from tests.support.servers import ServerThread, free_port
from tests.support.subgraphs import running_subgraph

M = manifests()
# The mounts a pod sees, made in a private mount namespace: the root read-only when the container's securityContext
# says so, a tmpfs on each emptyDir mount, identity's Secret mount a read-only bind of $FILES/keys (under a tmpfs
# /run, where the manifest puts it). "$@" is the container's command.
POD_MOUNTS = r"""
set -e
mount --bind "$FILES" /mnt
mount -o remount,bind,ro /mnt
mount -t tmpfs -o size=1m tmpfs /run
if [ -n "$SECRET_MOUNT" ]; then
  mkdir -p "$SECRET_MOUNT"; mount --bind /mnt/keys "$SECRET_MOUNT"; mount -o remount,bind,ro "$SECRET_MOUNT"
fi
if [ "$READ_ONLY_ROOT" = true ]; then
  mount -o remount,bind,ro /
  [ ! -w /usr ] && [ ! -w "$ROOT_CHECK" ] || exit 97
fi
# The checkout (and its .venv) stays visible, read-only, when it lives below an emptyDir such as /tmp (a CI clone):
# the image has the code outside every emptyDir, and so must this stand-in.
mkdir -p /run/repo; mount --bind "$ROOT_CHECK" /run/repo; mount -o remount,bind,ro /run/repo
for dir in $EMPTY_DIRS; do
  mount -t tmpfs -o size=64m tmpfs "$dir"
  case "$ROOT_CHECK/" in "$dir"/*) mkdir -p "$ROOT_CHECK"; mount --bind /run/repo "$ROOT_CHECK";; esac
done
unset FILES SECRET_MOUNT READ_ONLY_ROOT ROOT_CHECK EMPTY_DIRS
exec "$@"
"""


def assert_probes_answer(service: str, base_url: str) -> None:
    for kind, probe in M.probes(service).items():
        response = httpx.get(base_url + probe["httpGet"]["path"], timeout=10)
        assert response.status_code == 200, f"{service} {kind} {probe['httpGet']['path']}: {response}"


def gateway_config(directory: Path) -> Path:
    ((key, text),) = M.one("ConfigMap", "dpp-gateway-config")["data"].items()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / key).write_text(text)
    return directory / key


def make_signing_key(directory: Path) -> str:
    """What the README's ``dpp-keys show --data-dir`` step leaves for the Secret; the key's kid."""
    return KeyStore(directory, retain_seconds=360).current().kid


def test_gateway_probes_answer_on_the_real_gateway(tmp_path: Path) -> None:
    supergraph = str(ROOT / "schema" / "supergraph.graphql")
    settings = GatewaySettings.load(gateway_config(tmp_path), environ={}, supergraph=supergraph, host="127.0.0.1")
    with ServerThread(build_app(settings)) as server:
        assert_probes_answer("gateway", server.url)
    assert M.probes("gateway")["readinessProbe"]["httpGet"]["path"] == "/health/ready"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_subgraph_probes_answer_on_the_real_subgraph(name: str, tmp_path: Path) -> None:
    settings = Settings(service=name, database_url=f"sqlite+aiosqlite:///{tmp_path}/{name}.db", data_dir=tmp_path)
    with ServerThread(create_app(load_definition(name), settings)) as server:
        assert_probes_answer(name, server.url)


def test_identity_signs_with_the_mounted_key_and_writes_nothing_there(tmp_path: Path) -> None:
    """Identity's DATA_DIR is the read-only mount of Secret dpp-identity-keys: made once with ``dpp-keys``, it
    is only read: identity signs with that key, publishes it, and creates no file there."""
    container, spec = M.container("identity"), M.pod("identity")
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == M.literal_env(container)["DATA_DIR"]]
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    assert mount["readOnly"] and volume["secret"]["defaultMode"] == 0o440
    keys_dir = tmp_path / "secret"
    kid = make_signing_key(keys_dir)
    (item,) = volume["secret"]["items"]
    assert item["path"] == KeyStore(keys_dir, retain_seconds=360).path.name
    before = {p.name: p.stat().st_mtime_ns for p in keys_dir.iterdir()}
    keys_dir.chmod(0o555)
    try:
        database = f"sqlite+aiosqlite:///{tmp_path}/identity.db"
        with running_subgraph("identity", database, data_dir=keys_dir) as server:
            jwks = httpx.get(server.url + "/.well-known/jwks.json", timeout=10).json()
            login = 'mutation { login(email: "admin@acme.example", password: "Acme-Admin-2026") { accessToken } }'
            body = gql(server.url + "/graphql", login)
    finally:
        keys_dir.chmod(0o755)
    header = json.loads(base64.urlsafe_b64decode(body["data"]["login"]["accessToken"].split(".")[0] + "=="))
    assert header["kid"] == kid and [k["kid"] for k in jwks["keys"]] == [kid]
    assert {p.name: p.stat().st_mtime_ns for p in keys_dir.iterdir()} == before


def can_make_mount_namespaces() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True, check=False)
    return probe.returncode == 0


def image_environment() -> dict[str, str]:
    """The Dockerfile's ``ENV`` values, and a PATH that finds the console scripts as the image's does."""
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(re.findall(r"^ENV (.*)$", (ROOT / "Dockerfile").read_text(), re.M))))
    return {**env, "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


@contextlib.contextmanager
def pod(service: str, files: Path, logs: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start ``service``'s container command with its manifest environment (Secrets replaced by local stand-ins)
    inside the pod's mounts; yields its base URL and process, and ends the process (its session) afterwards."""
    container = M.container(service)
    volumes = {v["name"]: v for v in M.pod(service)["volumes"]}
    empty_dirs = [m["mountPath"] for m in container["volumeMounts"] if "emptyDir" in volumes[m["name"]]]
    env = {**image_environment(), **M.literal_env(container), "FILES": str(files), "ROOT_CHECK": str(ROOT)}
    env["READ_ONLY_ROOT"] = str(container["securityContext"]["readOnlyRootFilesystem"]).lower()
    env["EMPTY_DIRS"] = " ".join(empty_dirs)
    port, command = free_port(), list(container["command"])
    if service == "gateway":
        env.update(GATEWAY_HOST="127.0.0.1", GATEWAY_PORT=str(port))
        env["GATEWAY_SUPERGRAPH"] = str(ROOT / "schema" / "supergraph.graphql")
        command[command.index("--config") + 1] = "/mnt/gateway/gateway.yaml"  # /etc/dpp cannot be made here
    else:
        env.update({f"{service.upper()}_HOST": "127.0.0.1", f"{service.upper()}_PORT": str(port)})
        env["DATABASE_URL"] = f"sqlite:////tmp/{service}.db"  # the Secret's PostgreSQL URL, on the emptyDir
    secrets = [m["mountPath"] for m in container["volumeMounts"] if "secret" in volumes[m["name"]]]
    env["SECRET_MOUNT"] = str(Path(secrets[0]).resolve()) if secrets else ""
    with (logs / f"{service}.log").open("wb") as log:
        process = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", POD_MOUNTS, "pod", *command],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield f"http://127.0.0.1:{port}", process
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def wait_until_ready(service: str, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll the readiness probe's path as the kubelet would, until 200; fails if the process exits first."""
    path = M.probes(service)["readinessProbe"]["httpGet"]["path"]
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, f"{service} exited {process.returncode}: {log.read_text()}"
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + path, timeout=5).status_code == 200:
                return
        assert time.monotonic() < deadline, f"{service} never became ready: {log.read_text()}"
        time.sleep(0.2)


@pytest.mark.skipif(not can_make_mount_namespaces(), reason="needs root and unshare for a private mount namespace")
def test_every_pod_starts_on_a_read_only_root_filesystem(tmp_path: Path) -> None:
    files, logs = tmp_path / "files", tmp_path / "logs"
    kid = make_signing_key(files / "keys")
    gateway_config(files / "gateway")
    logs.mkdir()
    before = {p.name: p.stat().st_mtime_ns for p in (files / "keys").iterdir()}
    with contextlib.ExitStack() as stack:
        pods = {service: stack.enter_context(pod(service, files, logs)) for service in SERVICES}
        for service, (url, process) in pods.items():
            wait_until_ready(service, url, process, logs / f"{service}.log")
            assert_probes_answer(service, url)
        urls = {service: url for service, (url, _) in pods.items()}
        jwks = httpx.get(urls["identity"] + "/.well-known/jwks.json", timeout=10).json()
    assert [k["kid"] for k in jwks["keys"]] == [kid]
    assert {p.name: p.stat().st_mtime_ns for p in (files / "keys").iterdir()} == before
    assert not list(files.glob("*.db")), "databases go to the emptyDir"
