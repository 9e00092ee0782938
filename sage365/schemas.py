"""The JSON Schemas in the repository's schemas/ folder, loaded once, with positioned errors."""

from __future__ import annotations

import difflib
import json
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
    """The validator for schemas/<name>.schema.json (format checks on: dates, ...)."""
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


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
