"""The browser test reuses the integration fixtures (real model, real knowledge base)."""

from tests.integration.conftest import embeddings, project_kb  # noqa: F401
