import pytest

from nanoscale.nodes.tools import plan_checks
from nanoscale.tools import aws, logs
from nanoscale.tools.aws import ReadOnlyAWS, ToolRefused, evaluate_identity_policies


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


def test_condense_keeps_errors_collapses_repeats_and_caps():
    noise = [f"2024-01-01T00:00:{i % 60:02d}Z INFO request {i} ok" for i in range(3000)]
    errors = [f"2024-01-01T00:01:{i:02d}Z ERROR upstream timeout after 30s" for i in range(50)]
    text = "\n".join(noise[:1500] + errors + noise[1500:])
    out = logs.condense(text, max_bytes=4096)
    assert len(out.encode()) <= 4096
    assert "ERROR upstream timeout" in out
    assert out.count("ERROR upstream timeout") == 1
    assert "[condensed:" in out
    assert logs.condense("short log", max_bytes=4096) == "short log"


def test_every_check_is_declared_with_real_permissions():
    from nanoscale.aws_catalog import action_exists
    from nanoscale.tools.registry import CHECKS

    planned = plan_checks(
        "my instance i-0abc12345def67890 cannot pull 111122223333.dkr.ecr.eu-west-1.amazonaws.com/web:1 and "
        "s3://logs-bucket returns 403, GET https://api.example.com/v1 fails",
        {"logs": "/var/log/app.log"},
    )
    assert {name for name, _ in planned} == set(CHECKS)
    for check in CHECKS.values():
        assert check.description
        assert all(action_exists(permission) for permission in check.permissions), check.name


def test_readme_lists_the_registered_checks():
    from pathlib import Path

    from nanoscale.tools.registry import markdown_table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert markdown_table() in readme
