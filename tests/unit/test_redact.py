import pytest

from nanoscale.tools.redact import redact, redact_data

SECRET_SAMPLES = [
    ("aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ("export AWS_ACCESS_KEY_ID=ASIAY34FZKBOKMUTVV7A", "ASIAY34FZKBOKMUTVV7A"),
    (
        "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    ('"SecretAccessKey": "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"', "je7MtGbClwBF/2Zp9Utk"),
    ("aws_session_token = FwoGZXIvYXdzEBYaDH7gZZbV+fakeTokenValue0123456789", "FwoGZXIvYXdzEBYaDH7gZZbV"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payloadpart.signature123", "payloadpart"),
    ("authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    (
        "curl -H 'Authorization: token ghp_abcdefghijklmnopqrstuvwxyz0123456789' https://api.github.com",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    ),
    ("Cookie: session=abc123def456; csrftoken=zzz", "abc123def456"),
    ("Set-Cookie: sid=s%3Averysecretvalue; Path=/; HttpOnly", "verysecretvalue"),
    ("postgres://app:s3cr3tPass@db.internal:5432/app", "s3cr3tPass"),
    ("redis://:hunter2hunter2@cache:6379/0", "hunter2hunter2"),
    ("https://deploy:glpat-abcdefghij1234567890@gitlab.example.com/repo.git", "glpat-abcdefghij1234567890"),
    ("DB_PASSWORD=correct-horse-battery", "correct-horse-battery"),
    ('{"password": "abc123xyz"}', "abc123xyz"),
    ("password: Sup3rS3cret!", "Sup3rS3cret!"),
    ("client_secret=8Q~abcDEFghiJKLmnoPQRstu", "8Q~abcDEFghiJKLmnoPQRstu"),
    (
        "api_key: sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD",
        "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD",
    ),
    ("X-Api-Key header value api-key=3f9a8b7c6d5e4f3a2b1c", "3f9a8b7c6d5e4f3a2b1c"),
    ("token=xoxb-123456789012-abcdefghijklmn", "xoxb-123456789012-abcdefghijklmn"),
    ("GOOGLE_KEY AIzaSyA1234567890abcdefghijklmnopqrstuv", "AIzaSyA1234567890abcdefghijklmnopqrstuv"),
    ("stripe sk_live_abcdefghijklmnop1234", "sk_live_abcdefghijklmnop1234"),
    ("github_pat_11ABCDEFG0abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ", "github_pat_11ABCDEFG0"),
    ("mysql -u root -p hunter22 appdb", "hunter22"),
    (
        "id_token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\nabc\n-----END RSA PRIVATE KEY-----",
        "MIIEpAIBAAKCAQEA7",
    ),
    (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
        "b3BlbnNzaC1rZXktdjEAAAAA",
    ),
    ("refresh_token=1//0gabcdefghijklmnop", "1//0gabcdefghijklmnop"),
    (
        "my key is AKIAIOSFODNN7EXAMPLE and secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
]

KEEP_SAMPLES = [
    "arn:aws:iam::123456789012:role/app-role",
    "account 123456789012 in eu-west-1",
    "commit 4f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39",
    "image sha256:2b96f4c1e0d3a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2",
    "password authentication failed for user app",
    "kubectl -n prod get secret db-creds -o yaml",
    "allow secretsmanager:GetSecretValue on the secret ARN",
    "The Authorization header is missing",
    "instance i-0123456789abcdef0 and role AROAEXAMPLEID12345678",
    "set the token expiry to 3600 seconds",
    "https://example.com/path?page=2",
    "ssh -p 2222 user@host",
]


@pytest.mark.parametrize(("text", "secret"), SECRET_SAMPLES)
def test_secrets_are_redacted(text, secret):
    out = redact(text)
    assert secret not in out
    assert "[REDACTED" in out


@pytest.mark.parametrize("text", KEEP_SAMPLES)
def test_non_secrets_are_kept(text):
    assert redact(text) == text


def test_redact_data_walks_nested_structures():
    data = {"inputs": ["Bearer abcdefghijklmnop"], "n": 3, "nested": {"k": ("password=abcdef",)}}
    out = redact_data(data)
    assert out["n"] == 3
    assert "abcdefghijklmnop" not in str(out) and "abcdef" not in str(out["nested"])


def test_empty_text():
    assert redact("") == ""


def test_bare_token_pairs_and_api_key_headers_are_redacted():
    from nanoscale.tools.redact import redact

    assert redact("curl https://api.internal/v1?token=9f8e7d6c5b4a") == "curl https://api.internal/v1?token=[REDACTED]"
    assert redact("X-Api-Key: 0a1b2c3d4e5f6a7b") == "X-Api-Key: [REDACTED]"
    assert redact('"api_token": "abc123xyz"') == '"api_token": "[REDACTED]"'
    assert redact("max_tokens=512 and token_count: 40") == "max_tokens=512 and token_count: 40"
