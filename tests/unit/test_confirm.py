"""The confirm-command metric: a read-only check in the right tool's syntax, from the answer's code."""

from __future__ import annotations

import pytest

from nanoscale.evals.confirm import confirming_commands, names_confirm_command


@pytest.mark.parametrize(
    ("answer", "category", "expected"),
    [
        ("Check the pod:\n```\nkubectl describe pod api-0 -n shop\n```", "kubernetes", True),
        ("Run `kubectl -n shop get events --sort-by=.lastTimestamp`.", "kubernetes", True),
        ("Delete it: `kubectl delete pod api-0`.", "kubernetes", False),  # a fix, not a check
        ("Run `aws ecs describe-services --cluster c --services s`.", "aws", True),
        ("`aws --region eu-west-1 sts get-caller-identity`", "aws", True),
        ("Attach it: `aws iam attach-role-policy --role-name r --policy-arn p`", "aws", False),
        ("`kubectl get nodes`", "aws", False),  # right command, wrong tool for an AWS question
        ("```\n$ sudo journalctl -u nginx --since today\n```", "linux", True),
        ("`systemctl restart nginx`", "linux", False),
        ("`systemctl status nginx`", "linux", True),
        ("`df -h | grep /var`", "linux", True),
        ("`terraform plan -out tf.plan`", "terraform", True),
        ("`terraform apply -auto-approve`", "terraform", False),
        ("`docker logs web --tail 50`", "docker", True),
        ("`docker system prune -a`", "docker", False),
        ("`curl -sv https://api.example.com/health`", "api", True),
        ("`curl -X DELETE https://api.example.com/items/1`", "api", False),
        ("`gh run view 123 --log-failed`", "cicd", True),
        ("kubectl describe pod api-0 (not in code)", "kubernetes", False),
    ],
)
def test_read_only_commands_in_the_right_tool(answer, category, expected):
    assert names_confirm_command(answer, category) is expected


def test_each_pipeline_stage_counts_and_unknown_categories_are_not_scored():
    assert confirming_commands("`ps aux | grep java && free -m`", "linux") == ["ps aux", "free -m"]
    assert names_confirm_command("`kubectl get pods`", "general") is None
