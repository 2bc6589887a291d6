"""Read-only commands and the problem's domain: what the answer step adds when the model named no check."""

from __future__ import annotations

import pytest

from nanoscale import commands
from nanoscale.commands import code_lines, confirm_check, domain_of, read_only, stages


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("pod api-0 in namespace shop is in CrashLoopBackOff", "kubernetes"),
        ("terraform apply on our aws provider fails: AccessDenied for s3:PutObject", "terraform"),
        ("GitHub Actions workflow: docker build step fails with no space left", "cicd"),
        ("nginx.service fails to start after the upgrade, journalctl shows bind() failed", "linux"),
        ("docker compose up: container exits with code 137", "docker"),
        ("Lambda cannot read from the S3 bucket, AccessDenied", "aws"),
        ("POST https://api.example.com/v1/orders returns 401 with a bearer token", "api"),
        ("RunInstances fails with InsufficientInstanceCapacity in eu-west-1", "aws"),
    ],
)
def test_the_shipped_domain_model_places_plain_messages(text, domain):
    found = domain_of(text)
    assert found is not None and found.name == domain


def test_no_domain_when_the_model_abstains(monkeypatch):
    monkeypatch.setattr(commands, "classify_domain", lambda text: None)
    assert domain_of("pod api-0 is in CrashLoopBackOff") is None


def test_read_only_means_the_right_tool_and_a_verb_that_only_looks():
    assert read_only("kubectl -n shop describe pod api-0", ("kubectl",))
    assert not read_only("kubectl delete pod api-0", ("kubectl",))
    assert not read_only("kubectl get pods", ("aws",))
    assert read_only("aws --region eu-west-1 ecr describe-repositories", ("aws",))
    assert not read_only("aws iam attach-role-policy --role-name r", ("aws",))
    assert read_only("df -h", ("df",))  # a tool without a verb pattern reads by nature
    assert stages("ps aux | grep java && free -m") == ["ps aux", "grep java", "free -m"]
    assert code_lines("run\n```bash\n$ sudo journalctl -u app\n```\nand `df -h`") == [
        "journalctl -u app",
        "df -h",
    ]


def test_the_check_comes_from_the_highest_ranked_block_that_has_one():
    documents = [
        {"text": "Delete the pod: `kubectl delete pod POD`."},  # a fix, not a check
        {"text": "Look first:\n```\nkubectl -n NS describe pod POD | grep -A5 Events\n```"},
        {"text": "`kubectl get events -n NS`"},
    ]
    line = confirm_check("pod POD is stuck in Pending", "The scheduler cannot place it [1].", documents)
    assert line == "To confirm before changing anything: `kubectl -n NS describe pod POD` [2]"


def test_no_check_is_added_when_the_answer_has_one():
    documents = [{"text": "`kubectl get events -n NS`"}]
    answer = "Check the events: `kubectl get events -n shop`."
    assert confirm_check("pod stuck in Pending", answer, documents) is None


def test_a_question_the_model_will_not_place_takes_the_tool_of_its_context(monkeypatch):
    monkeypatch.setattr(commands, "classify_domain", lambda text: None)
    documents = [{"text": "`cat /etc/hosts`"}, {"text": "```\nsystemctl status app\n```"}]
    line = confirm_check("it broke after the update", "Roll back the update [1].", documents)
    assert line == "To confirm before changing anything: `systemctl status app` [2]"  # a main tool, not cat
    assert confirm_check("it broke after the update", "Roll back.", [{"text": "`ls -l`"}]) is None
    assert confirm_check("it broke", "See `systemctl status app`.", documents) is None


def test_without_a_fitting_block_the_domain_s_generic_first_check_is_named(monkeypatch):
    monkeypatch.setattr(commands, "classify_domain", lambda text: "linux")
    documents = [{"text": "`aws sts get-caller-identity`"}]  # a check, but in another tool
    line = confirm_check("app.service keeps restarting on the host", "It crashes on start.", documents)
    assert line == (
        "To confirm before changing anything, a general first check (not from the sources): "
        "`journalctl -u <unit> -n 50 --no-pager`."
    )
    # a check in another tool does not count as the answer's own: the host's tool is still added
    answer = "Run `kubectl get pods`."
    assert confirm_check("app.service keeps restarting on the host", answer, []) is not None
