"""The shipped YAML files validate against the JSON Schemas that editors use."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "docs" / "schemas"


def _schema(name: str) -> dict[str, object]:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


@pytest.mark.parametrize("path", sorted((ROOT / "intents").glob("*.yaml")), ids=lambda p: p.name)
def test_intent_files_match_schema(path: Path) -> None:
    jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), _schema("intents.schema.json"))


@pytest.mark.parametrize("path", sorted((ROOT / "content" / "answers").glob("*.yaml")), ids=lambda p: p.name)
def test_answer_files_match_schema(path: Path) -> None:
    jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), _schema("answers.schema.json"))


def test_messages_match_schema() -> None:
    data = yaml.safe_load((ROOT / "content" / "messages.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(data, _schema("messages.schema.json"))


def test_schema_rejects_an_unknown_key() -> None:
    with pytest.raises(jsonschema.ValidationError, match="examplez"):
        jsonschema.validate({"intents": [{"id": "a", "title": "A", "examples": ["x"], "examplez": []}]},
                            _schema("intents.schema.json"))
