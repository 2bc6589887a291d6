"""Every read-only check the tools node can run: name -> function, description, AWS permissions.

The tools node runs checks only through `CHECKS`, and the README's table of checks is
`markdown_table()` (a test keeps the two equal), so what runs and what is documented cannot drift.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nanoscale.config import ToolSettings
from nanoscale.tools import api, aws, logs
from nanoscale.tools.findings import Finding


@dataclass
class ToolContext:
    """What checks share in one run: the tool settings and, made on first use, one AWS client."""

    settings: ToolSettings
    region: str | None = None
    session: Any = None
    _aws: aws.ReadOnlyAWS | None = field(default=None, repr=False)

    @property
    def aws_client(self) -> aws.ReadOnlyAWS:
        if self._aws is None:
            self._aws = aws.ReadOnlyAWS(self.region, self.settings.timeout_s, self.session)
        return self._aws


@dataclass(frozen=True)
class Check:
    """One read-only check. `run` returns what it found, or None when there is nothing to say."""

    name: str
    run: Callable[..., Finding | None]
    description: str
    permissions: tuple[str, ...] = ()


def _identity(context: ToolContext) -> Finding:
    return aws.check_identity(context.aws_client)


def _instance_network(context: ToolContext, instance_id: str) -> Finding:
    return aws.check_instance_network(context.aws_client, instance_id)


def _ecr_pull(context: ToolContext, role_arn: str | None, instance_id: str | None) -> Finding:
    return aws.check_pull(context.aws_client, role_arn, instance_id)


def _repository(context: ToolContext, name: str) -> Finding:
    return aws.check_repository(context.aws_client, name)


def _bucket(context: ToolContext, name: str) -> Finding:
    return aws.check_bucket(context.aws_client, name)


def _probe(context: ToolContext, url: str, method: str) -> Finding:
    tools = context.settings
    result = api.probe(
        url, method, tools.timeout_s, tools.api_max_bytes, tools.api_max_redirects, tools.api_methods
    )
    return api.probe_finding(result)


def _log_file(context: ToolContext, path: str) -> Finding | None:
    text = logs.read_log_file(path, context.settings.logs_max_bytes)
    return None if text is None else logs.log_finding(path.strip(), text)


CHECKS: dict[str, Check] = {
    check.name: check
    for check in (
        Check(
            "sts.get_caller_identity",
            _identity,
            "who am I: the caller's ARN and account",
            ("sts:GetCallerIdentity",),
        ),
        Check(
            "ec2.instance_network",
            _instance_network,
            "an instance's state, instance profile, security group rules, route table and S3 endpoint",
            (
                "ec2:DescribeInstances",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeRouteTables",
                "ec2:DescribeVpcEndpoints",
            ),
        ),
        Check(
            "iam.ecr_pull_permissions",
            _ecr_pull,
            "can the caller, a role or an instance's role pull from ECR: simulated, else its policies read",
            (
                "ec2:DescribeInstances",
                "iam:GetInstanceProfile",
                "iam:SimulatePrincipalPolicy",
                "iam:ListAttachedRolePolicies",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:ListRolePolicies",
                "iam:GetRolePolicy",
                "iam:ListAttachedUserPolicies",
                "iam:ListUserPolicies",
                "iam:GetUserPolicy",
                "sts:GetCallerIdentity",
            ),
        ),
        Check(
            "ecr.repository",
            _repository,
            "does the ECR repository exist, its URI, and does its policy deny pulls",
            ("ecr:DescribeRepositories", "ecr:GetRepositoryPolicy"),
        ),
        Check(
            "s3.bucket",
            _bucket,
            "does the bucket exist and answer these credentials, its region, and what its policy denies",
            ("s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketPolicy"),
        ),
        Check("api.probe", _probe, "one bounded request to the endpoint, without credentials"),
        Check("logs.file", _log_file, "a local log file, read from its end and condensed"),
    )
}


def markdown_table() -> str:
    """The checks as the README's table."""
    lines = ["| check | what it tells | AWS permissions |", "|---|---|---|"]
    for check in CHECKS.values():
        permissions = ", ".join(f"`{p}`" for p in check.permissions) or "-"
        lines.append(f"| `{check.name}` | {check.description} | {permissions} |")
    return "\n".join(lines)
