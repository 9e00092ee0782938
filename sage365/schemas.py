"""The JSON Schemas in the repository's schemas/ folder, loaded once, with positioned errors."""

from __future__ import annotations

import difflib
import json
import re
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from sage365.yamlsafe import Document, Problem

_TYPE_NAMES = {"object": "a mapping", "array": "a list", "string": "text", "boolean": "true or false", "integer": "a whole number"}
NO_TRAILING_NEWLINE = "$(?!\\n)"  # how every schema pattern ends
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


@lru_cache(maxsize=None)
def validator(name: str) -> Draft202012Validator:
    """The validator for schemas/<name>.schema.json (format checks on: dates, ...).

    That every schema is a valid 2020-12 schema is a test (tests/declaration/test_schemas.py),
    not a cost of every run (Draft202012Validator.check_schema: ~10 ms a schema).
    """
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(inline_refs(schema), format_checker=Draft202012Validator.FORMAT_CHECKER)


# Keywords whose value is a schema, a {name: schema} mapping or a list of schemas (2020-12):
# only these are walked, so a `$ref` key inside data (const, enum, default) is never touched.
_SCHEMA = ("additionalProperties", "propertyNames", "items", "contains", "not", "if", "then", "else",
           "unevaluatedItems", "unevaluatedProperties", "contentSchema")
_SCHEMA_MAP = ("properties", "patternProperties", "dependentSchemas")
_SCHEMA_LIST = ("allOf", "anyOf", "oneOf", "prefixItems")
_DEF_REF = re.compile(r"#/\$defs/([A-Za-z0-9_-]+)")
# A definition holding any of these would mean something else once copied elsewhere.
_NOT_INLINED = ("$id", "$anchor", "$dynamicAnchor", "$dynamicRef", "$ref", "$schema", "$defs")


def inline_refs(schema: dict) -> dict:
    """`schema` with each local `{"$ref": "#/$defs/name"}` replaced, in place of the `$ref` key,
    by the definition's keywords.

    Why: jsonschema resolves every `$ref` through `referencing` at each use (a look-up and a
    new validator per reference: a third of a tenant file's validation). The validation is the
    same: 2020-12 evaluates `$ref` as one more keyword of its schema, and a definition is
    inlined only when none of its keywords is beside the `$ref` and it holds no `$ref`,
    `$id` or anchor of its own (otherwise the `$ref` is kept as written). Errors keep their
    message, instance, path and order; `error.schema` is the definition plus the `$ref`'s
    siblings (annotations such as `description`).
    """
    defs = schema.get("$defs", {})

    def walk(node: object, inlining: tuple[str, ...] = ()) -> object:
        if not isinstance(node, dict):
            return node
        out: dict = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                match = _DEF_REF.fullmatch(value)
                name = match.group(1) if match else ""
                target = defs.get(name)
                if (isinstance(target, dict) and name not in inlining  # a recursive definition stays a $ref
                        and not any(k in target for k in _NOT_INLINED)
                        and not any(k in node and k != "$ref" for k in target)):
                    out.update(walk(target, inlining + (name,)))
                    continue
            if key in _SCHEMA:
                out[key] = walk(value, inlining)
            elif key in _SCHEMA_MAP and isinstance(value, dict):
                out[key] = {prop: walk(sub, inlining) for prop, sub in value.items()}
            elif key in _SCHEMA_LIST and isinstance(value, list):
                out[key] = [walk(sub, inlining) for sub in value]
            else:
                out[key] = value
        return out

    return walk(schema)


def _field(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


def _describe(error: ValidationError) -> tuple[tuple, str]:
    """Where an error points and what it says, in a partner's words."""
    where = tuple(error.absolute_path)
    value = error.instance
    if error.validator == "additionalProperties":
        extra = sorted(set(value) - set(error.schema.get("properties", {})))
        if extra:
            known = sorted(error.schema.get("properties", {}))
            close = difflib.get_close_matches(extra[0], known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(known)})"
            return where + (extra[0],), f"{_field(where + (extra[0],))}: unknown field '{extra[0]}'{hint}"
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return where, f"{_field(where + (missing,))}: required field is missing"
    if error.validator == "pattern":
        return where, f"{_field(where)}: {value!r} is not a valid {_pattern_name(error)}"
    if error.validator == "const":
        return where, f"{_field(where)}: {value!r} must be {error.validator_value!r}"
    if error.validator == "enum":
        allowed = error.validator_value
        return where, f"{_field(where)}: {value!r} is not one of {', '.join(map(str, allowed))}"
    if error.validator == "uniqueItems":
        return where, f"{_field(where)}: items must be unique"
    if error.validator == "format":
        return where, f"{_field(where)}: {value!r} is not a valid {error.validator_value} (YYYY-MM-DD)"
    if error.validator == "type":
        got = {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number", float: "a number", type(None): "nothing"}.get(type(value), type(value).__name__)
        shown = "" if isinstance(value, (dict, list)) else f" {value!r}"
        return where, f"{_field(where)}: expected {_TYPE_NAMES.get(error.validator_value, error.validator_value)}, got {got}{shown}"
    return where, f"{_field(where)}: {error.message}"


def _pattern_name(error: ValidationError) -> str:
    pattern = error.schema.get("pattern", "")
    named = {
        "^[0-9a-fA-F]{8}": "GUID",
        "^[A-Za-z0-9._%+'-]": "user principal name",
        "^(?=.{1,253}$)": "domain name",
        "^[a-z0-9]([a-z0-9-]": "name (lowercase letters, digits, '-')",
        "^[A-Z0-9_]+$": "SKU or plan name (A-Z, 0-9, '_')",
        "^[A-Za-z][A-Za-z0-9._-]*$": "permission name",
    }
    for prefix, label in named.items():
        if pattern.startswith(prefix):
            return label
    # Every pattern ends `$(?!\n)` (a trailing newline must not match, in Python's re as in
    # ECMA-262); the reader needs only the pattern's meaning.
    shown = pattern.replace(NO_TRAILING_NEWLINE, "$")
    return f"value (pattern {shown})"


def schema_problems(document: Document, name: str) -> list[Problem]:
    """Every schema violation in `document`, sorted by position."""
    problems = []
    for error in validator(name).iter_errors(document.data):
        where, message = _describe(error)
        problems.append(document.problem(where, message))
    return sorted(set(problems), key=lambda p: (p.line, p.column, p.message))
