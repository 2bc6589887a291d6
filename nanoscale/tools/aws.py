"""AWS signals: which region, account and service a question is about, and which are missing.

Region names and codes come from botocore's own partition data (offline), so a new region is
known as soon as boto3 knows it; "Frankfurt", "eu_west_1", an ARN, an ECR URI or an
availability zone all resolve to a region code.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Region-scoped services and the words that reveal them. A pattern starting with "?" is weak:
# it counts only in an AWS context ("instance" alone could be a database or a VM anywhere).
REGIONAL_SERVICES: dict[str, tuple[str, ...]] = {
    "ecr": (r"\becr\b", r"container registry", r"dkr\.ecr", r"get-login-password"),
    "eks": (r"\beks\b", r"\beksctl\b", r"aws-auth", r"managed node ?group"),
    "ecs": (r"\becs\b", r"\bfargate\b", r"task definition", r"ecs task", r"ecs service"),
    "lambda": (r"\blambda\b",),
    "ec2": (
        r"\bec2\b",
        r"\bi-[0-9a-f]{8,17}\b",
        r"\bami-[0-9a-f]{8,17}\b",
        r"\bsg-[0-9a-f]{8,17}\b",
        r"\bebs\b",
        r"elastic ip",
        r"?security group",
        r"?\binstance(s)?\b",
        r"?key ?pair",
    ),
    "autoscaling": (r"auto ?scaling", r"\basg\b", r"launch template"),
    "cloudformation": (r"cloudformation", r"\bcfn\b", r"rollback_", r"?\bstack\b"),
    "vpc": (r"\bvpc\b", r"nat gateway", r"internet gateway", r"vpc endpoint", r"?\bsubnet", r"?route table"),
    "elb": (r"\balb\b", r"\bnlb\b", r"\belb\b", r"?load balancer", r"?target group"),
    "rds": (r"\brds\b", r"\baurora\b"),
    "dynamodb": (r"dynamodb",),
    "sqs": (r"\bsqs\b",),
    "sns": (r"\bsns\b",),
    "cloudwatch": (r"cloudwatch", r"log group"),
    "kms": (r"\bkms\b",),
    "secretsmanager": (r"secrets manager", r"secretsmanager"),
    "ssm": (r"\bssm\b", r"parameter store", r"session manager"),
    "apigateway": (r"api gateway", r"apigateway", r"execute-api"),
    "efs": (r"\befs\b",),
    "elasticache": (r"elasticache",),
    "codebuild": (r"codebuild",),
    "stepfunctions": (r"step functions",),
}
# Global or region-free services: asking for a region here would be noise.
GLOBAL_SERVICES: dict[str, tuple[str, ...]] = {
    "iam": (
        r"\biam\b",
        r"assume ?role",
        r"instance profile",
        r"?\brole\b",
        r"?\bpolic(y|ies)\b",
        r"?access ?denied",
        r"?permission",
    ),
    "sts": (
        r"\bsts\b",
        r"who ?am ?i",
        r"caller identity",
        r"which (identity|user|role) am i",
        r"expired ?token",
        r"\bcredentials\b",
        r"session token",
        r"access key",
    ),
    "s3": (r"\bs3\b", r"?\bbucket\b"),
    "route53": (r"route ?53",),
    "cloudfront": (r"cloudfront",),
    "organizations": (r"organizations", r"\bscp\b"),
}
_TROUBLE = re.compile(
    r"\b(can ?not|can't|cannot|unable|fail\w*|error\w*|denied|timeout|timed out|time out|not working|"
    r"doesn't|does not|won't|will not|isn't|stuck|broken|unreachable|refus\w*|crash\w*|pending|"
    r"hang\w*|slow|problem|issue|wrong|missing|no longer|stopped|stopping|throttl\w*|unhealthy|rollback\w*|"
    r"in a loop|keeps? \w+ing|disappear\w*|[45]\d\d|\w+(error|exception))\b",
    re.IGNORECASE,
)
# A quoted authorization failure is about IAM, which is global: no region is needed to explain it.
_AUTHZ_ERROR = re.compile(
    r"not authorized to perform|access ?denied|accessdeniedexception|unauthorizedoperation", re.IGNORECASE
)
_OWN_RESOURCE = re.compile(
    r"\b(my|our|the|this)\s+(\w+\s+)?(instance|cluster|function|repo(sitory)?|service|task|stack|"
    r"node ?group|vpc|subnet|load balancer|queue|table|database)\b",
    re.IGNORECASE,
)
_REGION_CODE = re.compile(
    r"(?<![a-z0-9])(us-gov|us|eu|ap|sa|ca|me|af|il|mx|cn)[-_ ]"
    r"(central|north|south|east|west|northeast|northwest|southeast|southwest)[-_ ](\d{1,2})[a-z]?(?![0-9])",
    re.IGNORECASE,
)
_EXTRA_REGION_NAMES = {
    "virginia": "us-east-1",
    "northern virginia": "us-east-1",
    "n virginia": "us-east-1",
    "northern california": "us-west-1",
    "california": "us-west-1",
    "dublin": "eu-west-1",
    "são paulo": "sa-east-1",
    "montreal": "ca-central-1",
    "tokyo region": "ap-northeast-1",
}
_ACCOUNT_ID = re.compile(r"(?<!\d)(\d{12})(?!\d)")
_CROSS_ACCOUNT = re.compile(
    r"\b(cross[- ]?account|another (aws )?account|other (aws )?account|different (aws )?account|"
    r"second (aws )?account|target account|source account|trusted account|account [ab]\b)",
    re.IGNORECASE,
)
_AWS_CONTEXT = re.compile(r"\b(aws|amazon)\b", re.IGNORECASE)


@lru_cache(maxsize=1)
def region_names() -> dict[str, str]:
    """Lower-case place names -> region code, from botocore's partition descriptions."""
    from botocore.loaders import Loader

    names: dict[str, str] = {}
    for partition in Loader().load_data("endpoints")["partitions"]:
        for code, info in partition["regions"].items():
            match = re.search(r"\(([^)]+)\)", info.get("description", ""))
            if match and partition["partition"] in {"aws", "aws-cn", "aws-us-gov"}:
                place = match.group(1).lower().replace(".", "")
                if place not in {"central"}:
                    names.setdefault(place, code)
    names.update(_EXTRA_REGION_NAMES)
    return names


@lru_cache(maxsize=1)
def region_codes() -> frozenset[str]:
    from botocore.loaders import Loader

    return frozenset(code for p in Loader().load_data("endpoints")["partitions"] for code in p["regions"])


def find_region(text: str) -> str | None:
    """The first AWS region named in text, in any of its usual forms, or None."""
    for match in _REGION_CODE.finditer(text):
        code = f"{match.group(1)}-{match.group(2)}-{match.group(3)}".lower()
        if code in region_codes():
            return code
    lowered = text.lower().replace(".", "")
    best: tuple[int, str] | None = None
    for place, code in region_names().items():
        found = re.search(rf"(?<![a-z]){re.escape(place)}(?![a-z])", lowered)
        if found and (best is None or found.start() < best[0]):
            best = (found.start(), code)
    return best[1] if best else None


def find_account(text: str) -> str | None:
    match = _ACCOUNT_ID.search(text)
    return match.group(1) if match else None


def _matches(text: str, table: dict[str, tuple[str, ...]]) -> list[str]:
    context = _has_aws_context(text)
    found = []
    for name, patterns in table.items():
        for pattern in patterns:
            weak = pattern.startswith("?")
            if (context or not weak) and re.search(pattern.lstrip("?"), text, re.IGNORECASE):
                found.append(name)
                break
    return found


def _has_aws_context(text: str) -> bool:
    """Named AWS, or a service/resource that only AWS has."""
    if _AWS_CONTEXT.search(text):
        return True
    strong = [p for table in (REGIONAL_SERVICES, GLOBAL_SERVICES) for ps in table.values() for p in ps]
    return any(re.search(p, text, re.IGNORECASE) for p in strong if not p.startswith("?"))


def find_services(text: str) -> list[str]:
    """AWS services the text is about, regional ones first."""
    return _matches(text, REGIONAL_SERVICES) + _matches(text, GLOBAL_SERVICES)


def is_aws_question(text: str) -> bool:
    return _has_aws_context(text)


def needs_region(text: str) -> bool:
    """A region-scoped resource being troubleshot (or named as one's own) and no region given."""
    if not _matches(text, REGIONAL_SERVICES) or _AUTHZ_ERROR.search(text):
        return False
    if re.search(
        r"\b(what is|difference between|explain|compare)\b", text, re.IGNORECASE
    ) and not _TROUBLE.search(text):
        return False
    return bool(_TROUBLE.search(text) or _OWN_RESOURCE.search(text))


def needs_account(text: str) -> bool:
    """Cross-account trouble needs the other account's ID to reason about trust policies."""
    return bool(_CROSS_ACCOUNT.search(text)) and _TROUBLE.search(text) is not None


def needs_service(text: str) -> bool:
    """Trouble 'on AWS' that names no service at all cannot be narrowed down."""
    return bool(_AWS_CONTEXT.search(text)) and not find_services(text) and _TROUBLE.search(text) is not None


def missing_slots(text: str, slots: dict[str, str]) -> list[str]:
    """AWS slots the conversation still lacks, in asking order."""
    missing = []
    if "region" not in slots and needs_region(text) and not find_region(text):
        missing.append("region")
    if "account" not in slots and needs_account(text) and not find_account(text):
        missing.append("account")
    if "service" not in slots and needs_service(text):
        missing.append("service")
    return missing


# ---------------------------------------------------------------------------------------------
# Read-only checks with boto3. Every call goes through ReadOnlyAWS, which refuses in code any
# operation that is not on the allowlist, whatever a prompt, a document or a user asked for.

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
_INSTANCE_ID = re.compile(r"\bi-[0-9a-f]{8,17}\b")
_ECR_URI = re.compile(
    r"\b(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([a-z0-9._/-]+?)(?::[\w.-]+|@sha256:[0-9a-f]+)?(?=[\s'\"`]|$)"
)
_REPO_NAME = re.compile(r"\brepositor(?:y|ies)\s+[`'\"]?([a-z0-9][a-z0-9._/-]{1,255})", re.IGNORECASE)
_BUCKET = re.compile(
    r"\bs3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])|\bbucket\s+[`'\"]?([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])"
)
_ROLE_ARN = re.compile(r"\barn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+")


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


def _error_text(exc: Exception) -> str:
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
        method = f"role's identity policies read directly (simulation unavailable: {_error_text(exc)[:80]})"
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


def plan_checks(text: str, slots: dict[str, str]) -> list[tuple[str, tuple]]:
    """Which read-only checks the question calls for, as (check name, arguments)."""
    if not is_aws_question(text):
        return []
    checks: list[tuple[str, tuple]] = [("sts.get_caller_identity", ())]
    services = find_services(text)
    instance = _INSTANCE_ID.search(text)
    role = _ROLE_ARN.search(text)
    if instance:
        checks.append(("ec2.instance_network", (instance.group(0),)))
    if "ecr" in services and (instance or role):
        checks.append(
            (
                "iam.ecr_pull_permissions",
                (role.group(0) if role else None, instance.group(0) if instance else None),
            )
        )
    uri = _ECR_URI.search(text)
    repo = uri.group(3) if uri else (_REPO_NAME.search(text).group(1) if _REPO_NAME.search(text) else None)
    if repo and "ecr" in services:
        checks.append(("ecr.repository", (repo,)))
    bucket = _BUCKET.search(text)
    if bucket:
        checks.append(("s3.bucket", (bucket.group(1) or bucket.group(2),)))
    return checks


def run_check(aws: ReadOnlyAWS, name: str, args: tuple) -> str:
    if name == "sts.get_caller_identity":
        return check_identity(aws)
    if name == "ec2.instance_network":
        return check_instance_network(aws, *args)
    if name == "iam.ecr_pull_permissions":
        role_arn, instance_id = args
        role_arn = role_arn or instance_role_arn(aws, instance_id)
        if not role_arn:
            return f"instance {instance_id} has no instance profile: it has no AWS credentials to pull with"
        return check_ecr_pull_permissions(aws, role_arn)
    if name == "ecr.repository":
        return check_repository(aws, *args)
    if name == "s3.bucket":
        return check_bucket(aws, *args)
    raise ToolRefused(f"unknown check {name}")
