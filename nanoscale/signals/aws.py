"""AWS signals: which region, account, service and resources a question is about, and which are missing.

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
_INSTANCE_ID = re.compile(r"\bi-[0-9a-f]{8,17}\b")
_ECR_URI = re.compile(
    r"\b(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([a-z0-9._/-]+?)(?::[\w.-]+|@sha256:[0-9a-f]+)?(?=[\s'\"`]|$)"
)
_REPO_NAME = re.compile(r"\brepositor(?:y|ies)\s+[`'\"]?([a-z0-9][a-z0-9._/-]{1,255})", re.IGNORECASE)
_BUCKET = re.compile(
    r"\bs3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])|\bbucket\s+[`'\"]?([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])"
)
_ROLE_ARN = re.compile(r"\barn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+")


@lru_cache(maxsize=1)
def _regions() -> dict[str, tuple[str, str]]:
    """Region code -> (partition, description), from botocore's partitions file.

    That file is 7 KB against 1.2 MB for endpoints.json, whose parsing took a twelfth of a cold
    `needs_input` reply; its "-global" entries are signing scopes, not regions."""
    from botocore.loaders import Loader

    return {
        code: (partition["id"], info.get("description", ""))
        for partition in Loader().load_data("partitions")["partitions"]
        for code, info in partition["regions"].items()
        if not code.endswith("-global")
    }


@lru_cache(maxsize=1)
def region_names() -> dict[str, str]:
    """Lower-case place names -> region code, from botocore's region descriptions."""
    names: dict[str, str] = {}
    for code, (partition, description) in _regions().items():
        match = re.search(r"\(([^)]+)\)", description)
        if match and partition in {"aws", "aws-cn", "aws-us-gov"}:
            place = match.group(1).lower().replace(".", "")
            if place not in {"central"}:
                names.setdefault(place, code)
    names.update(_EXTRA_REGION_NAMES)
    return names


@lru_cache(maxsize=1)
def region_codes() -> frozenset[str]:
    return frozenset(_regions())


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


def find_instance_id(text: str) -> str | None:
    match = _INSTANCE_ID.search(text)
    return match.group(0) if match else None


def find_role_arn(text: str) -> str | None:
    match = _ROLE_ARN.search(text)
    return match.group(0) if match else None


def find_ecr_repository(text: str) -> str | None:
    """The repository of an ECR image URI, else a repository named in prose."""
    uri = _ECR_URI.search(text)
    if uri:
        return uri.group(3)
    named = _REPO_NAME.search(text)
    return named.group(1) if named else None


def find_bucket(text: str) -> str | None:
    match = _BUCKET.search(text)
    return (match.group(1) or match.group(2)) if match else None
