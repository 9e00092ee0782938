"""schemas/: every schema is a valid JSON Schema 2020-12 (checked here, not at every run), and the
validator sage365 runs (its local `$ref`s inlined, sage365.schemas.inline_refs) reports exactly
what the schema as written reports."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from sage365.schemas import SCHEMA_DIR, inline_refs, validator
from sage365.yamlsafe import load

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = sorted(SCHEMA_DIR.glob("*.schema.json"))
# What each schema validates in the repository: a document per schema, mutated below.
SAMPLES = {
    "tenant": [*sorted((ROOT / "tenants").glob("*.yaml")), ROOT / "tests/declaration/fixtures/valid/production-example.yaml"],
    "catalog": [ROOT / "catalog" / "catalog.yaml"],
    "drift-report": [ROOT / "tests/cli/fixtures/drift-demo-report.json", ROOT / "tests/reports/fixtures/expected.json"],
}


def schema(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def sample(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8")) if path.suffix == ".json" else load(path).data


def errors(v: Draft202012Validator, instance: object) -> list[tuple]:
    """Everything sage365 reads of an error (sage365.schemas._describe, report_file), in order."""
    return [(e.message, list(e.absolute_path), e.validator, e.validator_value, repr(e.instance),
             e.schema.get("pattern"), sorted(e.schema.get("properties", {})))
            for e in v.iter_errors(instance)]


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_every_schema_is_a_valid_2020_12_schema(path):
    Draft202012Validator.check_schema(schema(path))
    assert schema(path)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_schema_has_samples_or_is_not_validated_at_run_time():
    names = {p.name.removesuffix(".schema.json") for p in SCHEMAS}
    assert set(SAMPLES) == names - {"sandbox-state"}  # sandbox states: check-jsonschema in tests only


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_shipped_schemas_are_inlined_entirely(path):
    """No `$ref` is left for jsonschema to resolve at each use (the point of inlining)."""
    inlined = inline_refs(schema(path))
    Draft202012Validator.check_schema(inlined)
    assert '"$ref"' not in json.dumps({k: v for k, v in inlined.items() if k != "$defs"})


def test_inlining_keeps_what_it_cannot_inline_as_written():
    original = {
        "$defs": {
            "node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/node"}}},  # recursive
            "text": {"type": "string", "maxLength": 3},
            "anchored": {"$anchor": "a", "type": "string"},
        },
        "properties": {
            "tree": {"$ref": "#/$defs/node"},
            "clash": {"$ref": "#/$defs/text", "maxLength": 1},  # a keyword beside the $ref
            "anchored": {"$ref": "#/$defs/anchored"},
            "remote": {"$ref": "https://example.com/s.json"},
            "plain": {"description": "d", "$ref": "#/$defs/text"},
            "data": {"const": {"$ref": "#/$defs/text"}},  # data, not a schema
        },
    }
    assert inline_refs(copy.deepcopy(original))["properties"] == {
        "tree": {"type": "object", "properties": {"child": {"$ref": "#/$defs/node"}}},
        "clash": {"$ref": "#/$defs/text", "maxLength": 1},
        "anchored": {"$ref": "#/$defs/anchored"},
        "remote": {"$ref": "https://example.com/s.json"},
        "plain": {"description": "d", "type": "string", "maxLength": 3},
        "data": {"const": {"$ref": "#/$defs/text"}},
    }


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False) | st.text(max_size=5)
    | st.sampled_from(["sage-contact", "2026-13-01", "2026-01-01", "P3", "a@b.fr", "x" * 300, "SPB"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=8,
)


def paths(value: object, where: tuple = ()) -> list[tuple]:
    found = [where]
    if isinstance(value, dict):
        for key, sub in value.items():
            found += paths(sub, where + (key,))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            found += paths(sub, where + (index,))
    return found


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_inlined_validator_reports_exactly_what_the_schema_as_written_reports(data):
    name = data.draw(st.sampled_from(sorted(SAMPLES)))
    instance = copy.deepcopy(sample(data.draw(st.sampled_from(SAMPLES[name]))))
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(paths(instance)))
        if not where:
            continue
        parent = instance
        for part in where[:-1]:
            parent = parent[part]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[where[-1]]
        else:
            parent[where[-1]] = data.draw(JSON)
    as_written = Draft202012Validator(schema(SCHEMA_DIR / f"{name}.schema.json"),
                                      format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert errors(validator(name), instance) == errors(as_written, instance)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_samples_are_valid(name):
    for path in SAMPLES[name]:
        assert errors(validator(name), sample(path)) == []
