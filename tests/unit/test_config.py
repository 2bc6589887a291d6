import os
from pathlib import Path

import pytest
import yaml

from nanoscale.config import LORA_CONFIG, REPO_CONFIG, REPO_ROOT, TRAINING_CONFIG, ConfigError, Settings


def test_defaults_without_any_file(tmp_path: Path):
    settings = Settings.load(config_file=None, env={})
    assert settings.model.preset == "qwen2.5-coder-1.5b"
    assert settings.model.deterministic is True
    assert settings.tools.execute is False


def test_the_yaml_files_name_every_knob():
    """default.yaml holds every section but training, which training.yaml and lora.yaml hold."""
    data = yaml.safe_load(REPO_CONFIG.read_text())
    data["training"] = {
        k: v for k, v in yaml.safe_load(TRAINING_CONFIG.read_text()).items() if k != "presets"
    }
    data["training"]["lora"] = yaml.safe_load(LORA_CONFIG.read_text())
    data["training"]["preset"] = None
    data["paths"] = {k: str(REPO_ROOT / v) for k, v in data["paths"].items()}
    defaults = Settings().to_dict()
    assert set(data) == set(defaults)
    for section, values in defaults.items():
        if isinstance(values, dict):
            assert set(data[section]) == set(values), section
            for key, value in values.items():
                assert data[section][key] == value, f"{section}.{key} differs from the dataclass default"


def test_paths_are_relative_to_the_repository_and_variants_are_copies(tmp_path: Path):
    config = tmp_path / "c.yaml"
    config.write_text("paths:\n  eval_cases: data/eval/test\n")
    settings = Settings.load(config, env={})
    assert settings.paths.eval_cases == REPO_ROOT / "data" / "eval" / "test"
    assert settings.paths.knowledge_base == REPO_ROOT / "data" / "raw"
    variant = settings.training_preset("smoke")
    assert variant.base_model == "smollm2-135m" and settings.training.base_model == "qwen2.5-coder-1.5b"


def test_loading_applies_the_offline_environment(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    Settings.load(env={})
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    Settings.load(env={"NANOSCALE_MODEL_ALLOW_NETWORK": "true"})
    assert os.environ["HF_HUB_OFFLINE"] == "0"
    Settings.load(env={})
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_precedence_yaml_then_env_then_overrides(tmp_path: Path):
    config = tmp_path / "c.yaml"
    config.write_text("model:\n  backend: transformers\n  max_new_tokens: 10\n")
    env = {"NANOSCALE_MODEL_MAX_NEW_TOKENS": "20", "NANOSCALE_DATA_DIR": str(tmp_path / "d")}
    settings = Settings.load(config, {"model.max_new_tokens": 30, "model.seed": None}, env=env)
    assert settings.model.backend == "transformers"
    assert settings.model.max_new_tokens == 30
    assert settings.model.seed == 0
    assert settings.data_dir == tmp_path / "d"
    assert settings.index_dir == tmp_path / "d" / "index"


def test_env_coerces_bools_and_lists():
    env = {"NANOSCALE_TOOLS_EXECUTE": "yes", "NANOSCALE_TOOLS_API_METHODS": "GET, POST"}
    settings = Settings.load(env=env)
    assert settings.tools.execute is True
    assert settings.tools.api_methods == ["GET", "POST"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model:\n  nope: 1\n", "unknown setting 'model.nope'"),
        ("model: 3\n", "must be a mapping"),
        ("model:\n  max_new_tokens: many\n", "expects int"),
        ("[1, 2]\n", "mapping at the top level"),
        ("model: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_config_files_say_what_is_wrong(tmp_path: Path, text: str, message: str):
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        Settings.load(config, env={})


def test_missing_config_file_and_bad_env():
    with pytest.raises(ConfigError, match="not found"):
        Settings.load("/nonexistent/config.yaml", env={})
    with pytest.raises(ConfigError, match="NANOSCALE_TOOLS_EXECUTE"):
        Settings.load(env={"NANOSCALE_TOOLS_EXECUTE": "maybe"})
