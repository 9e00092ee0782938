"""The shipped stack files (stacks/Pulumi.<tenant>.yaml) drive the program as they are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from components.program import main
from tests.components.harness import TENANT_IDS, run_program

ROOT = Path(__file__).resolve().parents[2]


def stack_config(stack: str) -> dict[str, str]:
    """The stack file's config as the CLI hands it to the program (non-strings as JSON)."""
    config = yaml.safe_load((ROOT / f"stacks/Pulumi.{stack}.yaml").read_text())["config"]
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()}


def test_one_stack_file_per_example_tenant():
    assert sorted(p.name for p in (ROOT / "stacks").glob("Pulumi.*.yaml")) == [
        f"Pulumi.{stack}.yaml" for stack in sorted(TENANT_IDS)
    ]
    assert yaml.safe_load((ROOT / "Pulumi.yaml").read_text()) == {
        "name": "sage365",
        "description": "Associate customers' Microsoft 365 tenants with Sage 100; one stack per tenant.",
        "runtime": {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}},
        "stackConfigDir": "stacks",
    }


@pytest.mark.parametrize("stack", sorted(TENANT_IDS))
def test_stack_file_pins_the_tenant_and_disables_default_providers(stack):
    assert stack_config(stack) == {
        "azuread:tenantId": TENANT_IDS[stack],
        "azuread:useOidc": "true",
        "pulumi:disable-default-providers": '["azuread"]',
    }
    run = run_program(main, stack=stack, config=stack_config(stack) | {"sage365:skipGate": "true"})
    assert run.error is None
    assert run.state[run.by_name[f"{stack}-azuread"].urn] == {
        "tenantId": TENANT_IDS[stack], "useOidc": "true", "useMsi": "false", "environment": "public",
    }
    assert [r.name for r in run.resources if r.type.startswith("pulumi:providers:")] == [f"{stack}-azuread"]
