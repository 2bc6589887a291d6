"""Read-only AWS checks with boto3.

Every call goes through `ReadOnlyAWS`, which refuses in code any operation that is not on the
allowlist, whatever a prompt, a document or a user asked for. Timeouts are short, retries off.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nanoscale.tools.findings import Finding, failed

ALLOWED_OPERATIONS: dict[str, frozenset[str]] = {
    "sts": frozenset({"get_caller_identity"}),
    "iam": frozenset(
        {
            "simulate_principal_policy",
            "get_instance_profile",
            "get_role",
            "list_attached_role_policies",
            "list_role_policies",
            "get_role_policy",
            "get_policy",
            "get_policy_version",
            "list_attached_user_policies",
            "list_user_policies",
            "get_user_policy",
        }
    ),
    "ec2": frozenset(
        {"describe_instances", "describe_security_groups", "describe_route_tables", "describe_vpc_endpoints"}
    ),
    "ecr": frozenset({"describe_repositories", "get_repository_policy"}),
    "s3": frozenset({"head_bucket", "get_bucket_location", "get_bucket_policy"}),
}
_READ_ONLY_PREFIXES = ("describe_", "get_", "list_", "simulate_", "head_")
ECR_PULL_ACTIONS = ("ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")


class ToolRefused(PermissionError):
    """An AWS operation outside the read-only allowlist was requested."""


class ReadOnlyAWS:
    """boto3 clients behind an explicit allowlist, with short timeouts and no retries."""

    def __init__(self, region: str | None, timeout_s: float, session=None) -> None:
        import boto3
        from botocore.config import Config

        self._session = session or boto3.session.Session()
        self.region = region or self._session.region_name or "us-east-1"
        self._config = Config(
            region_name=self.region,
            connect_timeout=timeout_s,
            read_timeout=timeout_s,
            retries={"max_attempts": 1, "mode": "standard"},
        )
        self._clients: dict[str, object] = {}

    def call(self, service: str, operation: str, **params):
        if operation not in ALLOWED_OPERATIONS.get(service, frozenset()) or not operation.startswith(
            _READ_ONLY_PREFIXES
        ):
            raise ToolRefused(f"{service}.{operation} is not a read-only operation on the allowlist")
        if service not in self._clients:
            self._clients[service] = self._session.client(service, config=self._config)
        return getattr(self._clients[service], operation)(**params)


def error_text(exc: Exception) -> str:
    """An AWS error as its code and message; any other exception as its class and text."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        return f"{response['Error'].get('Code')}: {response['Error'].get('Message')}"
    return f"{exc.__class__.__name__}: {exc}"


def error_code(exc: Exception) -> str | None:
    """The AWS error code (``RepositoryNotFoundException``, ``404``...) of a client error."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        return str(response["Error"].get("Code"))
    return None


_PRINCIPAL = re.compile(
    r"^arn:(aws[\w-]*):(?:iam|sts)::(\d{12}):(user|role|assumed-role|root)/?([\w+=,.@/-]*)$"
)


@dataclass(frozen=True)
class Principal:
    """Who an ARN names: an IAM user or role (an assumed role is its role), or the root user."""

    arn: str
    account: str
    kind: str  # user | role | root
    name: str

    @property
    def iam_arn(self) -> str:
        """The ARN IAM simulation accepts: an assumed role's session becomes its role."""
        if self.kind == "root":
            return f"arn:aws:iam::{self.account}:root"
        return f"arn:aws:iam::{self.account}:{self.kind}/{self.name}"

    @property
    def label(self) -> str:
        return {"user": "IAM user", "role": "IAM role", "root": "root user"}[self.kind] + (
            f" {self.name}" if self.name else ""
        )


def principal_of(arn: str) -> Principal | None:
    match = _PRINCIPAL.match(arn)
    if not match:
        return None
    _, account, kind, rest = match.groups()
    if kind == "assumed-role":
        return Principal(arn, account, "role", rest.split("/")[0])
    return Principal(arn, account, kind, rest.rsplit("/", 1)[-1] if kind != "root" else "")


def _policy_documents(aws: ReadOnlyAWS, principal: Principal) -> list[dict]:
    """The identity policies (managed and inline) of a role or a user."""
    kind = "User" if principal.kind == "user" else "Role"
    key = {f"{kind}Name": principal.name}
    documents = []
    for attached in aws.call("iam", f"list_attached_{kind.lower()}_policies", **key)["AttachedPolicies"]:
        policy = aws.call("iam", "get_policy", PolicyArn=attached["PolicyArn"])["Policy"]
        version = aws.call(
            "iam", "get_policy_version", PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
        )
        documents.append(_as_document(version["PolicyVersion"]["Document"]))
    for name in aws.call("iam", f"list_{kind.lower()}_policies", **key)["PolicyNames"]:
        inline = aws.call("iam", f"get_{kind.lower()}_policy", PolicyName=name, **key)
        documents.append(_as_document(inline["PolicyDocument"]))
    return documents


def _as_document(document) -> dict:
    import json
    from urllib.parse import unquote

    return json.loads(unquote(document)) if isinstance(document, str) else document


def _statement_matches(statement: dict, action: str) -> bool:
    from fnmatch import fnmatchcase

    actions = statement.get("Action", [])
    actions = [actions] if isinstance(actions, str) else actions
    return any(fnmatchcase(action.lower(), pattern.lower()) for pattern in actions)


def evaluate_identity_policies(documents: list[dict], actions: tuple[str, ...]) -> dict[str, str]:
    """allowed / explicitDeny / implicitDeny per action from identity policies alone
    (no conditions, boundaries, SCPs or resource policies): a fallback when simulation is
    unavailable, and said to be one."""
    decisions = {}
    for action in actions:
        statements = [s for d in documents for s in _listify(d.get("Statement", []))]
        if any(s.get("Effect") == "Deny" and _statement_matches(s, action) for s in statements):
            decisions[action] = "explicitDeny"
        elif any(s.get("Effect") == "Allow" and _statement_matches(s, action) for s in statements):
            decisions[action] = "allowed"
        else:
            decisions[action] = "implicitDeny"
    return decisions


def _listify(value) -> list:
    return value if isinstance(value, list) else [value]


def check_identity(aws: ReadOnlyAWS) -> Finding:
    who = aws.call("sts", "get_caller_identity")
    principal = principal_of(who["Arn"])
    kind = f"{principal.label}, " if principal else ""
    return Finding(
        "sts.get_caller_identity",
        "caller",
        "ok",
        f"caller identity: {who['Arn']} ({kind}account {who['Account']})",
        f"caller: {who['Arn']} (account {who['Account']})",
        {
            "arn": who["Arn"],
            "account": who["Account"],
            "principal_kind": principal.kind if principal else None,
            "principal_name": principal.name if principal else None,
            "region": aws.region,
        },
    )


def ecr_pull_decisions(aws: ReadOnlyAWS, principal: Principal) -> tuple[dict[str, str], str]:
    """Per-action decisions for pulling from ECR and how they were reached: simulated, else the
    principal's identity policies read and evaluated here (and said to be)."""
    try:
        results = aws.call(
            "iam",
            "simulate_principal_policy",
            PolicySourceArn=principal.iam_arn,
            ActionNames=list(ECR_PULL_ACTIONS),
        )
        return {r["EvalActionName"]: r["EvalDecision"] for r in results["EvaluationResults"]}, (
            "iam simulate-principal-policy"
        )
    except Exception as exc:  # noqa: BLE001 - simulation unavailable (permissions, emulators): fall back
        documents = _policy_documents(aws, principal)
        kind = "user's" if principal.kind == "user" else "role's"
        return evaluate_identity_policies(documents, ECR_PULL_ACTIONS), (
            f"{kind} identity policies read directly (simulation unavailable: {error_text(exc)[:80]})"
        )


def check_pull(aws: ReadOnlyAWS, role_arn: str | None, instance_id: str | None) -> Finding:
    """ECR pull permissions of a role, the role behind an instance's profile, or the caller."""
    name = "iam.ecr_pull_permissions"
    if role_arn:
        principal = principal_of(role_arn)
    elif instance_id:
        arn = instance_role_arn(aws, instance_id)
        if not arn:
            text = f"instance {instance_id} has no instance profile: it has no AWS credentials to pull with"
            return Finding(
                name, instance_id, "missing", text, text, {"instance_id": instance_id, "profile": None}
            )
        principal = principal_of(arn)
    else:
        principal = principal_of(aws.call("sts", "get_caller_identity")["Arn"])
    if principal is None or principal.kind == "root":
        target = role_arn or instance_id or "caller"
        return failed(name, target, "the principal is not an IAM user or role; nothing to simulate")
    try:
        decisions, method = ecr_pull_decisions(aws, principal)
    except Exception as exc:  # noqa: BLE001 - neither way worked: the answer must say so
        return failed(
            name,
            principal.arn,
            f"could not decide whether {principal.label} can pull from ECR: simulation unavailable and "
            f"its policies could not be read ({error_text(exc)[:120]})",
            error_code(exc),
        )
    denied = [a for a, d in decisions.items() if d != "allowed"]
    verdict = "can pull from ECR" if not denied else f"cannot pull from ECR: not allowed {', '.join(denied)}"
    details = ", ".join(f"{a}={d}" for a, d in decisions.items())
    subject = "role" if principal.kind == "role" else "user"
    return Finding(
        name,
        principal.arn,
        "ok" if not denied else "denied",
        f"ECR pull by {principal.label} ({principal.arn}): "
        + ("allowed" if not denied else f"DENIED, not allowed {', '.join(denied)}")
        + f" ({'simulated' if method.startswith('iam simulate') else 'from its identity policies; simulation unavailable'})",
        f"{subject} {principal.arn} {verdict} ({details}; via {method})",
        {
            "principal": principal.arn,
            "principal_kind": principal.kind,
            "account": principal.account,
            "instance_id": instance_id,
            "decisions": decisions,
            "verdict": "allowed" if not denied else "denied",
            "region": aws.region,
        },
    )


def _statements(document: dict) -> list[dict]:
    return _listify(document.get("Statement", []))


def _principals(statement: dict) -> list[str]:
    principal = statement.get("Principal", {})
    if principal == "*":
        return ["*"]
    if isinstance(principal, dict):
        return [p for value in principal.values() for p in _listify(value)]
    return []


def policy_denies(document: dict, actions: tuple[str, ...]) -> list[str]:
    """Which of `actions` a resource policy denies (to anyone, whatever its conditions)."""
    return [
        action
        for action in actions
        if any(s.get("Effect") == "Deny" and _statement_matches(s, action) for s in _statements(document))
    ]



def resource_policy(
    fetch: Callable[[], Any], absent_code: str, kind: str, actions: tuple[str, ...], none_denied: str
) -> tuple[list[str], str]:
    """The actions a resource policy denies and a phrase saying so; no policy denies nothing."""
    try:
        document = _as_document(fetch())
    except Exception as exc:
        if error_code(exc) != absent_code:
            raise
        return [], f"no {kind} policy"
    denies = policy_denies(document, actions)
    return denies, f"its {kind} policy denies {', '.join(denies) if denies else none_denied}"


def check_repository(aws: ReadOnlyAWS, name: str) -> Finding:
    check = "ecr.repository"
    try:
        repo = aws.call("ecr", "describe_repositories", repositoryNames=[name])["repositories"][0]
    except Exception as exc:
        if error_code(exc) != "RepositoryNotFoundException":
            raise
        text = f"ECR repository {name} does not exist in {aws.region} (RepositoryNotFoundException)"
        return Finding(
            check,
            name,
            "missing",
            text,
            text,
            {
                "repository": name,
                "exists": False,
                "region": aws.region,
                "error_code": "RepositoryNotFoundException",
            },
        )
    denies, policy = resource_policy(
        lambda: aws.call("ecr", "get_repository_policy", repositoryName=name)["policyText"],
        "RepositoryPolicyNotFoundException",
        "repository",
        ECR_PULL_ACTIONS,
        "no pull action",
    )
    return Finding(
        check,
        name,
        "denied" if denies else "ok",
        f"ECR repository {name} exists ({repo['repositoryUri']}); {policy}",
        f"repository {name} exists: {repo['repositoryUri']} (tags {repo.get('imageTagMutability', '?').lower()}); {policy}",
        {
            "repository": name,
            "exists": True,
            "uri": repo["repositoryUri"],
            "policy_denies": denies,
            "region": aws.region,
        },
    )


S3_ACCESS_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject")


def check_bucket(aws: ReadOnlyAWS, name: str) -> Finding:
    check = "s3.bucket"
    try:
        aws.call("s3", "head_bucket", Bucket=name)
    except Exception as exc:
        code = error_code(exc)
        if code in {"404", "NoSuchBucket"}:
            text = f"bucket {name} does not exist (404 NoSuchBucket)"
            return Finding(
                check, name, "missing", text, text, {"bucket": name, "exists": False, "status_code": 404}
            )
        if code in {"403", "AccessDenied"}:
            text = f"bucket {name} exists but refuses these credentials (403 AccessDenied on HeadBucket)"
            return Finding(
                check, name, "denied", text, text, {"bucket": name, "exists": True, "status_code": 403}
            )
        raise
    location = aws.call("s3", "get_bucket_location", Bucket=name).get("LocationConstraint") or "us-east-1"
    denies, policy = resource_policy(
        lambda: aws.call("s3", "get_bucket_policy", Bucket=name)["Policy"],
        "NoSuchBucketPolicy",
        "bucket",
        S3_ACCESS_ACTIONS,
        "none of " + ", ".join(S3_ACCESS_ACTIONS),
    )
    return Finding(
        check,
        name,
        "denied" if denies else "ok",
        f"S3 bucket {name} exists (region {location}) and answers these credentials; {policy}",
        f"bucket {name} exists and is reachable with these credentials (region {location}); {policy}",
        {"bucket": name, "exists": True, "bucket_region": location, "policy_denies": denies},
    )


def check_instance_network(aws: ReadOnlyAWS, instance_id: str) -> Finding:
    """State, instance profile, security group rules, route table and S3 gateway endpoint: what
    decides whether an instance can reach AWS APIs such as S3 and ECR."""
    instance = aws.call("ec2", "describe_instances", InstanceIds=[instance_id])["Reservations"][0][
        "Instances"
    ][0]
    profile = instance.get("IamInstanceProfile", {}).get("Arn")
    lines = [
        f"instance {instance_id}: state {instance['State']['Name']}, subnet {instance.get('SubnetId')}, "
        f"public IP {instance.get('PublicIpAddress') or 'none'}, instance profile {profile or 'none'}"
    ]
    facts: dict = {
        "instance_id": instance_id,
        "state": instance["State"]["Name"],
        "profile": profile,
        "groups_without_egress": [],
        "default_route": None,
        "s3_endpoint": None,
        "region": aws.region,
    }
    group_ids = [g["GroupId"] for g in instance.get("SecurityGroups", [])]
    if group_ids:
        for group in aws.call("ec2", "describe_security_groups", GroupIds=group_ids)["SecurityGroups"]:
            egress = [_rule(r) for r in group.get("IpPermissionsEgress", [])]
            ingress = [_rule(r) for r in group.get("IpPermissions", [])]
            if not egress:
                facts["groups_without_egress"].append(group["GroupId"])
            lines.append(
                f"security group {group['GroupId']}: inbound {ingress or 'none'}; outbound {egress or 'none'}"
            )
    subnet = instance.get("SubnetId")
    if subnet:
        tables = aws.call(
            "ec2", "describe_route_tables", Filters=[{"Name": "association.subnet-id", "Values": [subnet]}]
        )
        tables = (
            tables["RouteTables"]
            or aws.call(
                "ec2",
                "describe_route_tables",
                Filters=[
                    {"Name": "vpc-id", "Values": [instance["VpcId"]]},
                    {"Name": "association.main", "Values": ["true"]},
                ],
            )["RouteTables"]
        )
        for table in tables:
            routes = [
                f"{r.get('DestinationCidrBlock')}->{r.get('GatewayId') or r.get('NatGatewayId') or r.get('TransitGatewayId') or 'other'}"
                for r in table.get("Routes", [])
            ]
            default = any(r.get("DestinationCidrBlock") == "0.0.0.0/0" for r in table.get("Routes", []))
            facts["default_route"] = bool(facts["default_route"]) or default
            lines.append(
                f"route table {table['RouteTableId']}: {', '.join(routes)}"
                + ("" if default else " (no default route: no internet or NAT path)")
            )
    if instance.get("VpcId"):
        endpoints = aws.call(
            "ec2", "describe_vpc_endpoints", Filters=[{"Name": "vpc-id", "Values": [instance["VpcId"]]}]
        )["VpcEndpoints"]
        s3 = [e["VpcEndpointId"] for e in endpoints if e.get("ServiceName", "").endswith(".s3")]
        facts["s3_endpoint"] = s3[0] if s3 else None
        lines.append(f"S3 VPC endpoint: {s3[0] if s3 else 'none'}")
    problems = []
    if not profile:
        problems.append("no instance profile (no AWS credentials)")
    if facts["groups_without_egress"]:
        problems.append(
            f"security group {', '.join(facts['groups_without_egress'])} allows no outbound traffic"
        )
    if facts["default_route"] is False and not facts["s3_endpoint"]:
        problems.append("no default route and no S3 endpoint")
    summary = f"instance {instance_id} ({facts['state']}): instance profile {profile or 'none'}; " + (
        "; ".join(problems) if problems else "outbound traffic allowed, route to the internet present"
    )
    return Finding(
        "ec2.instance_network", instance_id, "problem" if problems else "ok", summary, "; ".join(lines), facts
    )


def instance_role_arn(aws: ReadOnlyAWS, instance_id: str) -> str | None:
    reservations = aws.call("ec2", "describe_instances", InstanceIds=[instance_id])["Reservations"]
    instance = reservations[0]["Instances"][0]
    profile = instance.get("IamInstanceProfile", {}).get("Arn")
    if not profile:
        return None
    name = profile.rsplit("/", 1)[-1]
    roles = aws.call("iam", "get_instance_profile", InstanceProfileName=name)["InstanceProfile"]["Roles"]
    return roles[0]["Arn"] if roles else None


def _rule(rule: dict) -> str:
    port = (
        "all"
        if rule.get("IpProtocol") == "-1"
        else f"{rule.get('IpProtocol')}/{rule.get('FromPort')}-{rule.get('ToPort')}"
    )
    sources = [r["CidrIp"] for r in rule.get("IpRanges", [])] + [
        g["GroupId"] for g in rule.get("UserIdGroupPairs", [])
    ]
    return f"{port} {','.join(sources) or '-'}"
