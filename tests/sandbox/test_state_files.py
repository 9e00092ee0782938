"""Sandbox state files: read strictly (duplicate keys refused), valid against the schema, errors as one
`PATH:LINE:COL: message` line; every shipped state and test fixture checked by check-jsonschema too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sage365.sandbox import StateError, load_state
from sage365.sandbox.state import SCHEMA_PATH, read_raw
from tests.sandbox_fixtures import CONTOSO, DEMO_STATE, ROOT

GRAPH_APP = "00000003-0000-0000-c000-000000000000"
STATE_FILES = sorted(ROOT.glob("sandbox/*.yaml")) + [ROOT / "tests" / "graph" / "fixtures" / "state.yaml"]
TENANT = "11111111-1111-4111-8111-111111111111"


@pytest.mark.parametrize("path", STATE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_state_file_passes_check_jsonschema_and_our_loader(path: Path):
    checker = Path(sys.executable).with_name("check-jsonschema")
    done = subprocess.run([str(checker), "--schemafile", str(SCHEMA_PATH), str(path)], capture_output=True, text=True)
    assert (done.returncode, done.stdout.strip()) == (0, "ok -- validation done"), done.stdout + done.stderr
    assert load_state(path).tenants
    # Anchors, aliases and merge keys mean what PyYAML (and every YAML tool) says they mean.
    assert read_raw(path) == yaml.safe_load(path.read_text(encoding="utf-8"))


def test_graphs_permission_scopes_are_whole_sentences():
    """Review P2-7: unquoted commas in flow mappings had split these into garbage keys."""
    graph = load_state(DEMO_STATE).tenants[CONTOSO].service_principal_by_app_id(GRAPH_APP)
    [contacts] = [s for s in graph["oauth2PermissionScopes"] if s["value"] == "Contacts.ReadWrite"]
    assert contacts == {
        "adminConsentDescription": "Allows the app to create, read, update, and delete user contacts.",
        "adminConsentDisplayName": "Have full access to user contacts",
        "id": "d56682ec-c09e-4743-aaf4-1a3aac4caa21",
        "isEnabled": True,
        "type": "User",
        "userConsentDescription": "Allows the app to read, update, create and delete contacts you have permissions to access.",
        "userConsentDisplayName": "Have full access of your contacts",
        "value": "Contacts.ReadWrite",
    }


def _tenant(body: str) -> str:
    return f"tenants:\n  {TENANT}:\n{body}"


WHERE = f"tenants.{TENANT}"
CASES = {
    "users.yaml": (_tenant("    users: [{id: u1}]\n"),
                   f"3:13: {WHERE}.users.0: 'userPrincipalName' is a required property"),
    "widgets.yaml": (_tenant("    widgets: []\n"),
                     f"2:3: {WHERE}: Additional properties are not allowed ('widgets' was unexpected)"),
    "member.yaml": (_tenant("    groups: [{id: g, displayName: G, members: [ghost]}]\n"),
                    f"3:48: {WHERE}.groups.0.members.0: unknown member ghost"),
    "dupid.yaml": (_tenant("    users: [{id: u, userPrincipalName: a}, {id: u, userPrincipalName: b}]\n"),
                   f"3:45: {WHERE}.users.1.id: duplicate id u"),
    "syntax.yaml": ("tenants: [\n", "2:1: did not find expected node content"),
    "dupkey.yaml": (_tenant("    users: []\n    users: []\n"), "4:5: duplicate key 'users' (first at line 3)"),
    "comma.yaml": (_tenant(f"    servicePrincipals:\n      - {{id: s, appId: {GRAPH_APP}, oauth2PermissionScopes: "
                           "[{id: 37f7f235-527c-4136-accd-4a02d197296e, value: openid, adminConsentDescription: "
                           "Allows the app to create, read, update}]}\n"),
                   f"4:87: {WHERE}.servicePrincipals.0.oauth2PermissionScopes.0: Additional properties are not "
                   "allowed ('read', 'update' were unexpected)"),
    "dupkey.json": ('{"tenants": {}, "tenants": {}}', "1:1: not a JSON state: duplicate key 'tenants'"),
    "syntax.json": ('{"tenants": {', "1:14: Expecting property name enclosed in double quotes"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_state_is_one_positioned_line(tmp_path: Path, name: str):
    text, expected = CASES[name]
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(StateError) as caught:
        load_state(path)
    assert str(caught.value) == f"{path}:{expected}"


def test_a_json_state_without_positions_still_names_the_file_and_field(tmp_path: Path):
    path = tmp_path / "s.json"
    path.write_text(f'{{"tenants": {{"{TENANT}": {{"widgets": []}}}}}}')
    with pytest.raises(StateError) as caught:
        load_state(path)
    assert str(caught.value) == f"{path}: {WHERE}: Additional properties are not allowed ('widgets' was unexpected)"


def test_merge_keys_take_the_written_key_over_the_merged_one(tmp_path: Path):
    path = tmp_path / "s.yaml"
    path.write_text(f"x-sp: &sp {{appId: {GRAPH_APP}, displayName: Microsoft Graph, tags: [a]}}\n"
                    + _tenant("    servicePrincipals:\n      - {<<: *sp, id: s1, tags: [b]}\n      - {<<: *sp, id: s2}\n"))
    sps = load_state(path).tenants[TENANT].servicePrincipals
    assert sps == {"s1": {"appId": GRAPH_APP, "displayName": "Microsoft Graph", "tags": ["b"], "id": "s1"},
                   "s2": {"appId": GRAPH_APP, "displayName": "Microsoft Graph", "tags": ["a"], "id": "s2"}}
    sps["s2"]["tags"].append("c")  # aliases are copies: the other object is untouched
    assert sps["s1"]["tags"] == ["b"]


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(8):  # 10**9 values once expanded
        previous, name = chr(97 + level), chr(98 + level)
        lines.append(f"{name}: &{name} [{', '.join(['*' + previous] * 10)}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\ntenants: {}\n")
    with pytest.raises(StateError) as caught:
        load_state(path)
    assert str(caught.value) == f"{path}:1:35: more than 100,000 values once aliases are expanded"


def test_sandbox_serve_refuses_a_bad_state_in_one_line(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("tenants:\n  not-a-guid: {\n")
    proc = subprocess.run([sys.executable, "-c", "from sage365.cli import main; main()", "sandbox", "serve",
                           "--state", str(bad)], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", f"{bad}:3:1: did not find expected node content\n")
