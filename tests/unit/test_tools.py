import pytest

from nanoscale.tools import aws
from nanoscale.tools.aws import ReadOnlyAWS, ToolRefused, evaluate_identity_policies, plan_checks


@pytest.mark.parametrize(
    ("service", "operation"),
    [
        ("s3", "delete_bucket"),
        ("ec2", "terminate_instances"),
        ("iam", "put_role_policy"),
        ("ecr", "batch_delete_image"),
        ("sts", "assume_role"),
        ("lambda", "list_functions"),
    ],
)
def test_anything_off_the_allowlist_is_refused_in_code(service, operation):
    with pytest.raises(ToolRefused, match="not a read-only operation"):
        ReadOnlyAWS("us-east-1", 1.0).call(service, operation)


def test_allowlist_holds_read_only_operations_only():
    for operations in aws.ALLOWED_OPERATIONS.values():
        assert all(op.startswith(("describe_", "get_", "list_", "simulate_", "head_")) for op in operations)


def test_identity_policy_fallback_evaluation():
    documents = [
        {"Statement": [{"Effect": "Allow", "Action": ["ecr:Get*", "ecr:BatchGetImage"], "Resource": "*"}]},
        {"Statement": {"Effect": "Deny", "Action": "ecr:GetDownloadUrlForLayer", "Resource": "*"}},
    ]
    assert evaluate_identity_policies(documents, aws.ECR_PULL_ACTIONS) == {
        "ecr:GetAuthorizationToken": "allowed",
        "ecr:BatchGetImage": "allowed",
        "ecr:GetDownloadUrlForLayer": "explicitDeny",
    }
    assert evaluate_identity_policies([], ("s3:GetObject",)) == {"s3:GetObject": "implicitDeny"}


def test_checks_are_planned_from_the_question_only():
    plan = dict(plan_checks("my instance i-0abc12345def67890 cannot pull from ECR repository web", {}))
    assert set(plan) == {
        "sts.get_caller_identity",
        "ec2.instance_network",
        "iam.ecr_pull_permissions",
        "ecr.repository",
    }
    assert plan["ecr.repository"] == ("web",)
    assert dict(plan_checks("s3://logs-bucket returns 403", {}))["s3.bucket"] == ("logs-bucket",)
    assert plan_checks("my pod is in CrashLoopBackOff", {}) == []
