import pytest

from nanoscale.aws_catalog import action_exists, catalog, cli_command_exists, invalid_references


@pytest.mark.parametrize(
    ("action", "exists"),
    [
        ("ecr:GetAuthorizationToken", True),
        ("ecr:BatchGetImage", True),
        ("ecr:GetDownloadUrlForLayer", True),
        ("iam:PassRole", True),
        ("s3:ListBucket", True),
        ("ec2:Describe*", True),
        ("elasticloadbalancing:DescribeTargetHealth", True),
        ("lambda:InvokeFunction", True),
        ("kms:GenerateDataKey*", True),
        ("ssmmessages:OpenDataChannel", True),
        ("s3:ListObjectsV2", False),  # an API operation; the permission is s3:ListBucket
        ("logs:Tail", False),  # a CLI command, not an action
        ("ecr:PullImageFast", False),
        ("s3:ReadEverything", False),
        ("ec2:Zzz*", False),
    ],
)
def test_actions_against_the_authorization_reference(action, exists):
    assert action_exists(action) is exists


@pytest.mark.parametrize(
    ("service", "command", "exists"),
    [
        ("ecr", "get-login-password", True),
        ("ecr", "describe-repositories", True),
        ("s3", "cp", True),
        ("s3api", "get-bucket-policy", True),
        ("sts", "get-caller-identity", True),
        ("eks", "update-kubeconfig", True),
        ("ec2", "describe-instancez", False),
        ("ecr", "pull-image", False),
    ],
)
def test_cli_commands(service, command, exists):
    assert cli_command_exists(service, command) is exists


def test_invalid_references_in_text_and_cache(tmp_path):
    text = (
        "Allow ecr:BatchGetImage and ecr:FetchLayers with iam:PassedToService set. "
        "Run aws --region eu-west-1 ecr describe-images then aws ecr fetch-image."
    )
    assert invalid_references(text, tmp_path) == ["ecr:FetchLayers", "aws ecr fetch-image"]
    assert list(tmp_path.glob("aws-catalog-*.json"))
    assert "ecr" in catalog(tmp_path)["iam"]
    assert invalid_references("see https://example.com and key: Value") == []


def test_condition_keys_are_not_taken_for_actions(tmp_path):
    policy = (
        'Allow kms:CreateGrant when "kms:GrantIsForAWSResource": "true" and kms:ViaService is '
        "ecr.eu-west-1.amazonaws.com, aws:SourceIp matches and ec2:ResourceTag/team is set; "
        "s3:ListObjectsV2 is not an action."
    )
    assert invalid_references(policy, tmp_path) == ["s3:ListObjectsV2"]


def test_an_empty_cached_catalog_is_rebuilt(tmp_path):
    catalog(tmp_path)
    (cached,) = tmp_path.glob("aws-catalog-*.json")
    cached.write_text('{"iam": {}, "conditions": {}, "cli": {}}')
    assert invalid_references("aws elbv2 describe-target-health and iam:PassRole", tmp_path) == []
    assert "elbv2" in catalog(tmp_path)["cli"] and "iam" in catalog(tmp_path)["iam"]
