import importlib
import inspect
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_langgraph_json_points_at_a_graph_factory():
    spec = json.loads((REPO / "langgraph.json").read_text())
    path, _, attribute = spec["graphs"]["nanoscale"].partition(":")
    module = importlib.import_module(path.removeprefix("./").removesuffix(".py").replace("/", "."))
    factory = getattr(module, attribute)
    assert callable(factory)
    assert list(inspect.signature(factory).parameters) == ["config"]
