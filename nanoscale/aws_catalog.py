"""Which IAM actions and `aws` CLI commands exist, according to botocore's service models.

botocore ships every AWS API model with boto3, offline. An IAM action is ``prefix:Operation``
where the prefix is the service's signing name; a CLI command is ``aws <service> <op-in-kebab>``.
A handful of IAM actions are permissions with no API operation of the same name (``iam:PassRole``,
``s3:ListBucket``...); they are listed here explicitly, as are the CLI's own customisations
(``aws s3 cp``, ``aws ecr get-login-password``...). Anything else is reported as invented.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path

# IAM actions that authorise something other than a same-named API operation.
PERMISSION_ONLY_ACTIONS = frozenset(
    {
        "iam:passrole",
        "s3:listbucket",
        "s3:listallmybuckets",
        "s3:getobjectversion",
        "s3:listbucketversions",
        "s3:deleteobjectversion",
        "s3:putobjectversionacl",
        "s3:getobjectversionacl",
        "s3:listbucketmultipartuploads",
        "s3:listmultipartuploadparts",
        "s3:getlifecycleconfiguration",
        "s3:putlifecycleconfiguration",
        "s3:getbucketpolicystatus",
        "s3:getencryptionconfiguration",
        "s3:putencryptionconfiguration",
        "s3:getreplicationconfiguration",
        "s3:bypassgovernanceretention",
        "lambda:invokefunction",
        "lambda:invokefunctionurl",
        "execute-api:invoke",
        "execute-api:manageconnections",
        "sts:tagsession",
        "sts:setsourceidentity",
        "ecr:replicateimage",
        "ec2:createtags",
        "kms:generatedatakey*",
        "logs:tail",
        "ssm:startsession",
        "ssmmessages:createcontrolchannel",
        "ssmmessages:createdatachannel",
        "ssmmessages:opencontrolchannel",
        "ssmmessages:opendatachannel",
        "ec2messages:getmessages",
        "iam:createservicelinkedrole",
        "eks:accesskubernetesapi",
        "cloudformation:validatetemplate",
        "dynamodb:conditioncheckitem",
        "ecr:batchimportupstreamimage",
    }
)
# Condition keys share the prefix:Name shape but are not actions.
CONDITION_KEYS = frozenset(
    {
        "iam:passedtoservice",
        "iam:awsservicename",
        "iam:permissionsboundary",
        "iam:policyarn",
        "kms:viaservice",
        "kms:calleraccount",
        "kms:encryptioncontext",
        "sts:externalid",
        "sts:sourceidentity",
        "sts:rolesessionname",
        "ec2:vpc",
        "ec2:region",
        "ec2:instancetype",
        "ec2:subnet",
        "s3:resourceaccount",
        "s3:tlsversion",
        "lambda:functionarn",
        "ecr:resourcetag",
        "ec2:resourcetag",
        "iam:resourcetag",
    }
)
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
_CLI = re.compile(r"\baws\s+(?:--[\w-]+(?:[ =]\S+)?\s+)*([a-z][a-z0-9-]+)\s+([a-z][a-z0-9-]+)")


def catalog(cache_dir: Path | None = None) -> dict[str, dict[str, frozenset[str]]]:
    """{'iam': {prefix: operations}, 'cli': {service: commands}}: built once per process from
    ~450 service models (a few seconds), and saved as JSON in `cache_dir` for later processes."""
    import botocore

    path = cache_dir / f"aws-catalog-{botocore.__version__}.json" if cache_dir else None
    data = _read(path) if path and path.is_file() else None
    if not data or not data.get("cli"):  # an empty file is never trusted: rebuild it
        data = _build()
        if not data["cli"]:
            raise RuntimeError(
                "botocore lists no service models; reinstall it: pip install --force-reinstall botocore"
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
    iam: dict[str, set[str]] = {}
    cli: dict[str, set[str]] = {}
    for name in loader.list_available_services("service-2"):
        model = loader.load_service_model(name, "service-2")
        meta = model.get("metadata", {})
        operations = list(model.get("operations", {}))
        for prefix in {meta.get("signingName"), meta.get("endpointPrefix")} - {None}:
            iam.setdefault(prefix.lower(), set()).update(op.lower() for op in operations)
        cli.setdefault(name, set()).update(xform_name(op, "-") for op in operations)
        cli[name].update({"wait", "help"})
    return {
        "iam": {k: frozenset(v) for k, v in iam.items()},
        "cli": {k: frozenset(v) for k, v in cli.items()},
    }


def action_exists(action: str, cache_dir: Path | None = None) -> bool:
    """Does ``prefix:Operation`` (wildcards allowed) name a real IAM action?"""
    prefix, _, operation = action.lower().partition(":")
    operations = catalog(cache_dir)["iam"].get(prefix)
    if operations is None:
        return False
    if operation == "*" or action.lower() in PERMISSION_ONLY_ACTIONS:
        return True
    if operation.endswith("*"):
        stem = operation[:-1]
        return any(op.startswith(stem) for op in operations) or any(
            a.startswith(f"{prefix}:{stem}") for a in PERMISSION_ONLY_ACTIONS
        )
    return operation in operations


def cli_command_exists(service: str, command: str, cache_dir: Path | None = None) -> bool:
    service = CLI_ALIASES.get(service, service)
    if command in CLI_CUSTOM_COMMANDS.get(service, set()):
        return True
    commands = catalog(cache_dir)["cli"].get(service)
    return commands is not None and command in commands


def invalid_references(text: str, cache_dir: Path | None = None) -> list[str]:
    """IAM actions and `aws` CLI commands in text that botocore does not know, in order."""
    found: list[str] = []
    known_prefixes = catalog(cache_dir)["iam"]
    for match in _ACTION.finditer(text):
        action = f"{match.group(1)}:{match.group(2)}"
        if match.group(1) not in known_prefixes or action.lower() in CONDITION_KEYS:
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
    operations = data["iam"].get(prefix.lower())
    if not operations or not operation:
        return None
    kebab = {c.replace("-", ""): c for commands in data["cli"].values() for c in commands}
    wanted = re.sub(r"(?<!^)(?=[A-Z])", "-", operation.rstrip("*")).lower()
    names = {kebab[op] for op in operations if op in kebab}
    best = _same_noun(wanted, names) or get_close_matches(wanted, sorted(names), n=1, cutoff=0.6)
    if not best:
        return None
    return f"{prefix}:{''.join(part.capitalize() for part in best[0].split('-'))}"
