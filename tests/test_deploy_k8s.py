"""The Kubernetes manifests (deploy/k8s): each overlay renders, every object validates against
the Kubernetes API schemas, the operators' resources against theirs, and the deployment
policy holds (probes, resources, restricted security context, one Ingress, per-service HPA,
PDB, NetworkPolicy and migration Job, no secret values in prod).

Schemas:
- built-in kinds: ``kubernetes-validate`` (strict: an unknown field fails), for the oldest
  Kubernetes version the manifests support and the newest the package knows;
- ServiceMonitor, PrometheusRule: the Prometheus Operator's models from PyPI
  (``cloudcoil-models-prometheus-operator``, generated from its CRDs), strict by round trip;
- CloudNativePG ``Cluster`` and ``RabbitmqCluster``: no package on the registries this project
  uses ships their CRDs, so a structural check of the fields we use stands in for them here.
  With ``CRM_K8S_CRD_DIR`` set to a directory of CRD files (the operators' release manifests,
  or ``kubectl get crd -o yaml`` from a cluster), every operator resource is also validated
  against its CRD's OpenAPI schema, unknown fields refused.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
SERVICES = ("gateway", "customers", "engagement", "service-desk", "notifier")
PORTS = {"gateway": 8000, "customers": 8001, "engagement": 8002, "service-desk": 8003}
PORTS["notifier"] = 8004
# The oldest Kubernetes the manifests are meant for (the preStop sleep action is on by default
# from 1.30), and the newest the validator knows.
KUBERNETES_FLOOR = "1.31"

BUILT_IN_GROUPS = {"v1", "apps/v1", "batch/v1", "autoscaling/v2", "policy/v1"}
BUILT_IN_GROUPS |= {"networking.k8s.io/v1"}
OPERATOR_KINDS = {
    ("postgresql.cnpg.io/v1", "Cluster"),
    ("postgresql.cnpg.io/v1", "Database"),
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None,
    reason="kubectl is not installed: the overlays are rendered with `kubectl kustomize`",
)


@cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    result = subprocess.run(
        ["kubectl", "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def of_kind(overlay: str, kind: str) -> list[dict[str, Any]]:
    return [doc for doc in rendered(overlay) if doc["kind"] == kind]


def named(overlay: str, kind: str, name: str) -> dict[str, Any]:
    matches = [doc for doc in of_kind(overlay, kind) if doc["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} in {overlay}"
    return matches[0]


def label(doc: dict[str, Any], key: str) -> str | None:
    return doc["metadata"].get("labels", {}).get(key)


# --- schemas ---------------------------------------------------------------------------------


def kubernetes_versions() -> list[str]:
    import kubernetes_validate.utils as kv

    latest = kv.latest_version()
    floor = max(v for v in kv.all_versions() if kv.major_minor(v) == KUBERNETES_FLOOR)
    return sorted({floor, latest})


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_a_known_kind(overlay: str) -> None:
    for doc in rendered(overlay):
        key = (doc["apiVersion"], doc["kind"])
        assert doc["apiVersion"] in BUILT_IN_GROUPS or key in OPERATOR_KINDS, key
        assert doc["metadata"].get("namespace") == (
            None if doc["kind"] == "Namespace" else "crm"
        ), f"{doc['kind']}/{doc['metadata']['name']} in {overlay}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_built_in_kinds_validate_against_the_kubernetes_schemas(overlay: str) -> None:
    import kubernetes_validate

    checked = 0
    for version in kubernetes_versions():
        for doc in rendered(overlay):
            if doc["apiVersion"] not in BUILT_IN_GROUPS:
                continue
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                pytest.fail(
                    f"{overlay}: {doc['kind']}/{doc['metadata']['name']} against Kubernetes "
                    f"{version}: {error.message} at {'.'.join(map(str, error.path))}"
                )
            checked += 1
    assert checked > 40


def _strict_round_trip(model: Any, doc: dict[str, Any]) -> None:
    """Validate ``doc`` with the model, and refuse fields the model does not know (its
    pydantic models ignore them): what it dumps back must be what went in."""
    parsed = model.model_validate(doc)
    again = parsed.model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert again == doc, f"{doc['kind']}/{doc['metadata']['name']}: unknown or altered fields"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_prometheus_operator_resources_validate_against_its_models(overlay: str) -> None:
    from cloudcoil.models.prometheus_operator import v1

    monitors = of_kind(overlay, "ServiceMonitor")
    rules = of_kind(overlay, "PrometheusRule")
    assert len(monitors) == 1 and len(rules) == 1
    for doc in monitors:
        _strict_round_trip(v1.ServiceMonitor, doc)
    for doc in rules:
        _strict_round_trip(v1.PrometheusRule, doc)


def test_the_strict_round_trip_refuses_an_unknown_field() -> None:
    from cloudcoil.models.prometheus_operator import v1

    monitor = copy.deepcopy(of_kind("prod", "ServiceMonitor")[0])
    monitor["spec"]["endpoints"][0]["scrapeEvery"] = "30s"
    with pytest.raises(AssertionError, match="unknown or altered"):
        _strict_round_trip(v1.ServiceMonitor, monitor)


# A structural stand-in for the CloudNativePG and RabbitMQ CRDs (none is on PyPI or npm):
# the fields these manifests use, with their types. Keys not listed are refused.
_QUANTITY = (str, int)
_RESOURCES = {"requests": {"cpu": _QUANTITY, "memory": _QUANTITY}}
_RESOURCES["limits"] = {"cpu": _QUANTITY, "memory": _QUANTITY}
CNPG_CLUSTER_SPEC: dict[str, Any] = {
    "instances": int,
    "primaryUpdateStrategy": ("unsupervised", "supervised"),
    "enableSuperuserAccess": bool,
    "bootstrap": {
        "initdb": {
            "database": str,
            "owner": str,
            "encoding": str,
            "postInitApplicationSQL": [str],
        }
    },
    "postgresql": {"parameters": {"*": str}},
    "storage": {"size": str},
    "resources": _RESOURCES,
    "affinity": {"enablePodAntiAffinity": bool, "topologyKey": str},
}
RABBITMQ_CLUSTER_SPEC: dict[str, Any] = {
    "replicas": int,
    "resources": _RESOURCES,
    "persistence": {"storage": str},
}


def _structure_errors(value: Any, shape: Any, path: str) -> list[str]:
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return [f"{path}: an object expected"]
        errors = []
        for key, item in value.items():
            if key not in shape and "*" not in shape:
                errors.append(f"{path}.{key}: unknown field")
            else:
                errors += _structure_errors(item, shape.get(key, shape.get("*")), f"{path}.{key}")
        return errors
    if isinstance(shape, list):
        if not isinstance(value, list):
            return [f"{path}: a list expected"]
        return [
            e for i, v in enumerate(value) for e in _structure_errors(v, shape[0], f"{path}[{i}]")
        ]
    if isinstance(shape, tuple) and all(isinstance(s, str) for s in shape):
        return [] if value in shape else [f"{path}: one of {shape} expected, not {value!r}"]
    types = shape if isinstance(shape, tuple) else (shape,)
    if isinstance(value, bool) and bool not in types:
        return [f"{path}: {types} expected, not a boolean"]
    return [] if isinstance(value, types) else [f"{path}: {types} expected, not {value!r}"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_operator_resources_have_the_structure_their_crds_define(overlay: str) -> None:
    clusters = of_kind(overlay, "Cluster")
    brokers = of_kind(overlay, "RabbitmqCluster")
    assert {c["metadata"]["name"] for c in clusters} == {f"crm-{s}-db" for s in SERVICES}
    assert len(brokers) == 1
    errors = []
    for doc in clusters:
        errors += _structure_errors(doc["spec"], CNPG_CLUSTER_SPEC, doc["metadata"]["name"])
    for doc in brokers:
        errors += _structure_errors(doc["spec"], RABBITMQ_CLUSTER_SPEC, doc["metadata"]["name"])
    assert not errors, errors


def test_the_structural_check_refuses_an_unknown_field() -> None:
    doc = copy.deepcopy(named("prod", "Cluster", "crm-customers-db"))
    doc["spec"]["instance"] = 3
    doc["spec"]["bootstrap"]["initdb"]["database"] = 1
    errors = _structure_errors(doc["spec"], CNPG_CLUSTER_SPEC, "c")
    assert sorted(errors) == [
        "c.bootstrap.initdb.database: (<class 'str'>,) expected, not 1",
        "c.instance: unknown field",
    ]


def _strict(schema: Any) -> Any:
    """An OpenAPI v3 CRD schema that refuses unknown fields, as the API server prunes them."""
    if isinstance(schema, dict):
        schema = {key: _strict(value) for key, value in schema.items()}
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


def crd_schemas(directory: Path) -> dict[tuple[str, str], dict[str, Any]]:
    schemas = {}
    for path in sorted([*directory.rglob("*.yaml"), *directory.rglob("*.yml")]):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
            for version in doc["spec"]["versions"]:
                schema = version["schema"]["openAPIV3Schema"]
                schemas[(f"{group}/{version['name']}", kind)] = _strict(schema)
    return schemas


@pytest.mark.skipif(
    not os.environ.get("CRM_K8S_CRD_DIR"),
    reason="CRM_K8S_CRD_DIR is not set: no operator CRDs to validate against (none is "
    "published on PyPI or npm; point it at the operators' CRD files to run this)",
)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_operator_resources_validate_against_their_crds(overlay: str) -> None:
    import jsonschema

    schemas = crd_schemas(Path(os.environ["CRM_K8S_CRD_DIR"]))
    validated = set()
    for doc in rendered(overlay):
        key = (doc["apiVersion"], doc["kind"])
        if key not in OPERATOR_KINDS or key not in schemas:
            continue
        schema = schemas[key]
        subject = {**doc, "metadata": {}}  # metadata is the API server's (ObjectMeta)
        errors = sorted(
            jsonschema.Draft7Validator(schema).iter_errors(subject), key=lambda e: e.path
        )
        assert not errors, [
            f"{doc['kind']}/{doc['metadata']['name']}: {e.message} at {list(e.path)}"
            for e in errors
        ]
        validated.add(key)
    assert validated, f"no CRD in {os.environ['CRM_K8S_CRD_DIR']} matches our resources"


# --- policy ----------------------------------------------------------------------------------


def _pod_specs(overlay: str) -> list[tuple[str, dict[str, Any]]]:
    pods = []
    for kind in ("Deployment", "Job"):
        for doc in of_kind(overlay, kind):
            pods.append((f"{kind}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]))
    return pods


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_run_restricted(overlay: str) -> None:
    pods = _pod_specs(overlay)
    assert len(pods) == 2 * len(SERVICES)
    for where, pod in pods:
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True, where
        assert security["runAsUser"] == 10001, where
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert pod["automountServiceAccountToken"] is False, where
        assert pod.get("hostNetwork") is not True and pod.get("hostPID") is not True, where
        for container in pod["containers"] + pod.get("initContainers", []):
            context = container["securityContext"]
            name = f"{where} {container['name']}"
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["runAsNonRoot"] is True, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, name
            resources = container["resources"]
            for bound in ("requests", "limits"):
                assert set(resources[bound]) >= {"cpu", "memory"}, f"{name} {bound}"
            mounts = {mount["mountPath"] for mount in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{name}: a writable /tmp on a read-only root"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_is_deployed_with_probes_hpa_pdb_policy_and_migration(overlay: str) -> None:
    for service in SERVICES:
        name = f"crm-{service}"
        port = PORTS[service]
        deployment = named(overlay, "Deployment", name)
        assert "replicas" not in deployment["spec"], f"{name}: the HPA owns the replica count"
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["image"].split("/")[-1].startswith(f"crm-{service}:")
        assert container["args"] == ["serve", "--host", "0.0.0.0", "--port", str(port)]
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        liveness, readiness = container["livenessProbe"], container["readinessProbe"]
        assert liveness["httpGet"] == {"path": "/healthz", "port": "http"}, name
        assert readiness["httpGet"] == {"path": "/readyz", "port": "http"}, name
        env = {item["name"]: item for item in container["env"]}
        database = env[f"CRM_{service.upper().replace('-', '_')}_DATABASE_URL"]
        assert database["valueFrom"]["secretKeyRef"] == {"name": f"{name}-db-app", "key": "uri"}
        assert env["CRM_AMQP_URL"]["valueFrom"]["secretKeyRef"]["name"] == (
            "crm-rabbitmq-default-user"
        )

        service_object = named(overlay, "Service", name)
        assert service_object["spec"]["ports"][0]["port"] == port

        hpa = named(overlay, "HorizontalPodAutoscaler", name)
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        if overlay == "prod":
            assert hpa["spec"]["minReplicas"] >= 2, f"{name}: one pod is no availability"

        selector = deployment["spec"]["selector"]["matchLabels"]
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        pdb = named(overlay, "PodDisruptionBudget", name)
        assert pdb["spec"]["selector"]["matchLabels"] == selector
        assert service_object["spec"]["selector"] == selector

        policy = named(overlay, "NetworkPolicy", name)
        policy_selector = policy["spec"]["podSelector"]["matchLabels"]
        assert policy_selector.items() <= pod_labels.items()
        assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}

        job = named(overlay, "Job", f"{name}-migrate")
        (migrate,) = job["spec"]["template"]["spec"]["containers"]
        assert migrate["args"] == ["migrate"]
        assert migrate["image"] == container["image"]
        assert migrate["envFrom"] == container["envFrom"]
        assert migrate["env"] == container["env"]
        job_labels = job["spec"]["template"]["metadata"]["labels"]
        assert policy_selector.items() <= job_labels.items(), "the Job's pods need its egress"
        assert not job_labels.items() >= selector.items(), "the Service must not select the Job"
        assert not deployment["spec"]["template"]["spec"].get("initContainers"), (
            f"{name}: migrations run once, in the Job, not in every replica"
        )


def _peers(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [peer for rule in rules for peer in rule.get("from", rule.get("to", []))]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_let_in_only_the_gateway_and_prometheus(overlay: str) -> None:
    monitoring = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    }
    for service in SERVICES:
        policy = named(overlay, "NetworkPolicy", f"crm-{service}")
        peers = _peers(policy["spec"]["ingress"])
        assert monitoring in peers, service
        if service == "gateway":
            assert peers == [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                    }
                },
                monitoring,
            ]
        else:
            gateway = {
                "podSelector": {
                    "matchLabels": {
                        "app.kubernetes.io/name": "crm-gateway",
                        "app.kubernetes.io/component": "server",
                    }
                }
            }
            assert peers == [gateway, monitoring], service
        egress = policy["spec"]["egress"]
        targets = _peers(egress)
        assert {"podSelector": {"matchLabels": {"cnpg.io/cluster": f"crm-{service}-db"}}} in targets
        assert {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "crm-rabbitmq"}}
        } in targets
        ports = {port["port"] for rule in egress for port in rule.get("ports", [])}
        assert {53, 5432, 5672} <= ports, service
        internet = [peer for peer in targets if "ipBlock" in peer]
        assert bool(internet) == (service == "notifier"), f"{service}: internet egress"
        if service == "notifier":
            assert 15672 in ports
            assert all("10.0.0.0/8" in peer["ipBlock"].get("except", []) for peer in internet[:1])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_gateway_has_an_ingress(overlay: str) -> None:
    ingresses = of_kind(overlay, "Ingress")
    backends = {
        path["backend"]["service"]["name"]
        for ingress in ingresses
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == {"crm-gateway"}
    for service in of_kind(overlay, "Service"):
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP", service["metadata"]


def test_prod_holds_no_secret_values() -> None:
    assert of_kind("prod", "Secret") == [], "prod's Secrets are managed outside the repository"
    secret_keys = ("SECRET", "PASSWORD", "DATA_KEY", "TOKEN", "_AUTH")
    for config in of_kind("prod", "ConfigMap"):
        for key in config.get("data", {}):
            assert not any(word in key for word in secret_keys), f"{key} in a ConfigMap"
    for _, pod in _pod_specs("prod"):
        for container in pod["containers"]:
            for item in container.get("env", []):
                if any(word in item["name"] for word in secret_keys):
                    assert "valueFrom" in item, f"{item['name']} is a literal"
    settings = named(
        "prod",
        "ConfigMap",
        next(
            c["metadata"]["name"]
            for c in of_kind("prod", "ConfigMap")
            if c["metadata"]["name"].startswith("crm-settings-")
        ),
    )
    assert settings["data"]["CRM_ENVIRONMENT"] == "production"


def test_dev_secrets_are_placeholders_and_dev_does_not_claim_production() -> None:
    from crm_platform.settings import PlatformSettings

    settings = next(
        c for c in of_kind("dev", "ConfigMap") if c["metadata"]["name"].startswith("crm-settings-")
    )
    assert settings["data"]["CRM_ENVIRONMENT"] == "development"
    import base64

    secret = named("dev", "Secret", "crm-secrets")
    values = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert set(values) == {"CRM_INTERNAL_TOKEN_SECRET", "CRM_JWT_SECRET", "CRM_DATA_KEY"}
    # The keys are the ones the services read, and the data key has the expected form.
    fields = {f"CRM_{name.upper()}" for name in PlatformSettings.model_fields}
    assert set(values) <= fields
    assert len(base64.b64decode(values["CRM_DATA_KEY"])) == 32


def test_cnpg_clusters_give_each_service_its_database() -> None:
    for service in SERVICES:
        cluster = named("prod", "Cluster", f"crm-{service}-db")
        assert cluster["spec"]["instances"] == 3
        initdb = cluster["spec"]["bootstrap"]["initdb"]
        assert initdb["database"] == initdb["owner"] == service.replace("-", "_")
    customers = named("prod", "Cluster", "crm-customers-db")
    assert (
        "CREATE EXTENSION IF NOT EXISTS pg_trgm"
        in customers["spec"]["bootstrap"]["initdb"]["postInitApplicationSQL"]
    )
    assert named("prod", "RabbitmqCluster", "crm-rabbitmq")["spec"]["replicas"] == 3


# --- the PrometheusRule and the rule files ---------------------------------------------------


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "generate_prometheus_rule", K8S / "generate_prometheus_rule.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_prometheus_rule_is_in_sync_with_the_rule_files() -> None:
    generator = _generator()
    committed = generator.OUTPUT.read_text(encoding="utf-8")
    assert committed == generator.render(), (
        "deploy/k8s/base/monitoring/prometheusrule.yaml is stale: run "
        ".venv/bin/python deploy/k8s/generate_prometheus_rule.py"
    )
    groups = yaml.safe_load(committed)["spec"]["groups"]
    assert groups and all(group["rules"] for group in groups)


def test_the_generator_refuses_a_group_defined_twice(tmp_path: Path) -> None:
    generator = _generator()
    group = {"groups": [{"name": "same", "rules": [{"alert": "A", "expr": "up == 0"}]}]}
    (tmp_path / "a.yml").write_text(yaml.safe_dump(group))
    (tmp_path / "b.yml").write_text(yaml.safe_dump(group))
    with pytest.raises(ValueError, match="same"):
        generator.render(tmp_path)
