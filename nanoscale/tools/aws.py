"""Read-only AWS checks with boto3.

Every call goes through `ReadOnlyAWS`, which refuses in code any operation that is not on the
allowlist, whatever a prompt, a document or a user asked for. Timeouts are short, retries off.
"""

from __future__ import annotations

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
        }
    ),
    "ec2": frozenset({"describe_instances", "describe_security_groups", "describe_route_tables"}),
    "ecr": frozenset({"describe_repositories", "get_repository_policy"}),
    "s3": frozenset({"head_bucket", "get_bucket_location"}),
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
        self._config = Config(
            region_name=region or self._session.region_name or "us-east-1",
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


def check_identity(aws: ReadOnlyAWS) -> str:
    who = aws.call("sts", "get_caller_identity")
    return f"caller: {who['Arn']} (account {who['Account']})"


def instance_role_arn(aws: ReadOnlyAWS, instance_id: str) -> str | None:
    reservations = aws.call("ec2", "describe_instances", InstanceIds=[instance_id])["Reservations"]
    instance = reservations[0]["Instances"][0]
    profile = instance.get("IamInstanceProfile", {}).get("Arn")
    if not profile:
        return None
    name = profile.rsplit("/", 1)[-1]
    roles = aws.call("iam", "get_instance_profile", InstanceProfileName=name)["InstanceProfile"]["Roles"]
    return roles[0]["Arn"] if roles else None


def _policy_documents(aws: ReadOnlyAWS, role_name: str) -> list[dict]:
    documents = []
    for attached in aws.call("iam", "list_attached_role_policies", RoleName=role_name)["AttachedPolicies"]:
        policy = aws.call("iam", "get_policy", PolicyArn=attached["PolicyArn"])["Policy"]
        version = aws.call(
            "iam", "get_policy_version", PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
        )
        documents.append(_as_document(version["PolicyVersion"]["Document"]))
    for name in aws.call("iam", "list_role_policies", RoleName=role_name)["PolicyNames"]:
        documents.append(
            _as_document(
                aws.call("iam", "get_role_policy", RoleName=role_name, PolicyName=name)["PolicyDocument"]
            )
        )
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


def check_ecr_pull_permissions(aws: ReadOnlyAWS, role_arn: str) -> str:
    try:
        results = aws.call(
            "iam", "simulate_principal_policy", PolicySourceArn=role_arn, ActionNames=list(ECR_PULL_ACTIONS)
        )
        decisions = {r["EvalActionName"]: r["EvalDecision"] for r in results["EvaluationResults"]}
        method = "iam simulate-principal-policy"
    except Exception as exc:  # noqa: BLE001 - simulation unavailable (permissions, emulators): fall back
        documents = _policy_documents(aws, role_arn.rsplit("/", 1)[-1])
        decisions = evaluate_identity_policies(documents, ECR_PULL_ACTIONS)
        method = f"role's identity policies read directly (simulation unavailable: {error_text(exc)[:80]})"
    missing = [a for a, d in decisions.items() if d != "allowed"]
    verdict = (
        "can pull from ECR" if not missing else f"cannot pull from ECR: not allowed {', '.join(missing)}"
    )
    details = ", ".join(f"{a}={d}" for a, d in decisions.items())
    return f"role {role_arn} {verdict} ({details}; via {method})"


def check_instance_network(aws: ReadOnlyAWS, instance_id: str) -> str:
    instance = aws.call("ec2", "describe_instances", InstanceIds=[instance_id])["Reservations"][0][
        "Instances"
    ][0]
    lines = [
        f"instance {instance_id}: state {instance['State']['Name']}, subnet {instance.get('SubnetId')}, "
        f"public IP {instance.get('PublicIpAddress') or 'none'}"
    ]
    group_ids = [g["GroupId"] for g in instance.get("SecurityGroups", [])]
    if group_ids:
        for group in aws.call("ec2", "describe_security_groups", GroupIds=group_ids)["SecurityGroups"]:
            egress = [_rule(r) for r in group.get("IpPermissionsEgress", [])]
            ingress = [_rule(r) for r in group.get("IpPermissions", [])]
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
            lines.append(
                f"route table {table['RouteTableId']}: {', '.join(routes)}"
                + ("" if default else " (no default route: no internet or NAT path)")
            )
    return "; ".join(lines)


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


def check_repository(aws: ReadOnlyAWS, name: str) -> str:
    repo = aws.call("ecr", "describe_repositories", repositoryNames=[name])["repositories"][0]
    return f"repository {name} exists: {repo['repositoryUri']} (tags {repo.get('imageTagMutability', '?').lower()})"


def check_bucket(aws: ReadOnlyAWS, name: str) -> str:
    aws.call("s3", "head_bucket", Bucket=name)
    location = aws.call("s3", "get_bucket_location", Bucket=name).get("LocationConstraint") or "us-east-1"
    return f"bucket {name} exists and is reachable with these credentials (region {location})"


def check_role_can_pull(aws: ReadOnlyAWS, role_arn: str | None, instance_id: str | None) -> str:
    """ECR pull permissions of a role, or of the role behind an instance's profile."""
    role_arn = role_arn or (instance_role_arn(aws, instance_id) if instance_id else None)
    if not role_arn:
        return f"instance {instance_id} has no instance profile: it has no AWS credentials to pull with"
    return check_ecr_pull_permissions(aws, role_arn)
