"""The GitHub workflows: linted (actionlint, zizmor offline), valid against GitHub's schema,
every action pinned by commit SHA, least permissions, OIDC only, never destroy, and every
`sage365` invocation in them (and in the pre-commit hooks) an existing command and options."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from sage365.cli import app

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent
FILES = sorted(WORKFLOWS.glob("*.yml"))

# The actions the workflows use, each pinned to the full commit SHA of the release named
# beside it (docs/ci.md says how these were checked).
PINNED = {
    "actions/checkout": ("de0fac2e4500dabe0009e67214ff5f5447ce83dd", "v6.0.2"),
    "actions/setup-python": ("a309ff8b426b58ec0e2a45f0f869d46889d02405", "v6.2.0"),
    "actions/upload-artifact": ("043fb46d1a93c77aae656e7c1c64a875d1fc6a0a", "v7.0.1"),
    "actions/download-artifact": ("37930b1c2abaa49bbe596cd826c3c89aef350131", "v7.0.0"),
    "pulumi/actions": ("8e5e406f4007fca908480587cb9893c07090f58d", "v7.0.0"),
    "marocchino/sticky-pull-request-comment": ("0ea0beb66eb9baf113663a64ec522f60e49231c0", "v3.0.4"),
}


def load(path: Path) -> dict:
    # PyYAML reads the key `on` as True (YAML 1.1); the workflow schema test reads the files as they are.
    return yaml.safe_load(path.read_text())


def tool(name: str, *args: str) -> subprocess.CompletedProcess:
    # A throwaway HOME: pre-commit and zizmor keep caches there, never in the repository.
    with tempfile.TemporaryDirectory(prefix="sage365-ci-home-") as home:
        env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": home, "NO_COLOR": "1"}
        return subprocess.run([str(BIN / name), *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)


def test_the_three_workflows_exist():
    assert [p.name for p in FILES] == ["main.yml", "nightly.yml", "pull-request.yml"]


def test_actionlint_reports_nothing_with_shellcheck_on():
    assert (BIN / "shellcheck").is_file()  # actionlint checks `run:` scripts with it when on PATH
    result = tool("actionlint", "-verbose")
    assert (result.returncode, result.stdout) == (0, "")
    assert 'Rule "shellcheck" was disabled' not in result.stderr
    assert "Found 0 errors in 3 files" in result.stderr


def test_zizmor_offline_reports_nothing():
    result = tool("zizmor", "--offline", "--no-progress", ".github/workflows")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_workflows_match_githubs_workflow_schema():
    result = tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, FILES))
    assert (result.returncode, result.stdout.strip()) == (0, "ok -- validation done")


def test_pre_commit_files_are_valid():
    assert tool("pre-commit", "validate-config", ".pre-commit-config.yaml").returncode == 0
    assert tool("pre-commit", "validate-manifest", ".pre-commit-hooks.yaml").returncode == 0


def steps(workflow: dict):
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, job, step


def test_every_action_is_pinned_by_full_sha_with_its_version():
    used = set()
    for path in FILES:
        for line in path.read_text().splitlines():
            match = re.search(r"uses: ([^@\s]+)@(\S+)(?: # (\S+))?", line)
            if match:
                action, ref, comment = match.groups()
                assert action in PINNED, f"{path.name}: {action} is not a reviewed action"
                assert (ref, comment) == PINNED[action], f"{path.name}: {line.strip()}"
                used.add(action)
    assert used == set(PINNED)


EXPECTED_PERMISSIONS = {
    ("pull-request.yml", "validate"): {"contents": "read"},
    ("pull-request.yml", "drift"): {"contents": "read", "id-token": "write"},
    ("pull-request.yml", "comment"): {"pull-requests": "write"},
    ("pull-request.yml", "preview"): {"contents": "read", "id-token": "write", "pull-requests": "write"},
    ("main.yml", "affected"): {"contents": "read"},
    ("main.yml", "up"): {"contents": "read", "id-token": "write"},
    ("nightly.yml", "drift"): {"contents": "read", "id-token": "write"},
    ("nightly.yml", "issues"): {"contents": "read", "issues": "write"},
    ("nightly.yml", "refresh"): {"contents": "read", "id-token": "write"},
    ("nightly.yml", "status"): {},
}


def test_least_permissions_per_job_and_none_by_default():
    seen = {}
    for path in FILES:
        workflow = load(path)
        assert workflow["permissions"] == {}, path.name
        for job_id, job in workflow["jobs"].items():
            seen[(path.name, job_id)] = job["permissions"]
    assert seen == EXPECTED_PERMISSIONS


def test_azure_sign_in_is_oidc_only_and_secrets_are_the_two_named_ones():
    for path in FILES:
        text = path.read_text()
        assert re.findall(r"secrets\.([A-Z_]+)", text) and set(re.findall(r"secrets\.([A-Z_]+)", text)) <= {
            "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"}, path.name
        assert not re.search(r"(?i)client[-_]?secret|ARM_CLIENT_CERTIFICATE|AZURE_CLIENT_CERTIFICATE", text), path.name
        for job_id, job, step in steps(load(path)):
            env = step.get("env", {})
            if "AZURE_CLIENT_ID" in env or "ARM_CLIENT_ID" in env:
                assert job["permissions"].get("id-token") == "write", (path.name, job_id)
            if "AZURE_CLIENT_ID" in env:  # `sage365 drift`, without Pulumi: azure-identity's variables
                assert "AZURE_FEDERATED_TOKEN_FILE" not in env, (path.name, job_id)  # fresh tokens, no file
                assert not any(name.startswith("ARM_") for name in env), (path.name, job_id)
            if "ARM_CLIENT_ID" in env:
                # Pulumi: one identity, the provider's own variables; the gate resolves the same ones.
                assert env["ARM_USE_OIDC"] == "true"
                assert not any(name.startswith("AZURE_") for name in env), (path.name, job_id)


def test_no_job_writes_the_oidc_token_to_a_file():
    """GitHub's ID tokens live 5 minutes: the provider, the preview gate and `sage365 drift`
    fetch the job's token themselves, fresh for each Entra ID token; no step writes or reads a file."""
    for path in FILES:
        for job_id, _job, step in steps(load(path)):
            assert "oidc-token" not in step.get("run", "") + str(step.get("env", {})), (path.name, job_id)


def test_graph_reads_fetch_fresh_github_tokens_never_a_token_file():
    """GitHub's ID tokens live 5 minutes: `sage365 drift`/`export` ask GitHub for one per exchange
    (ACTIONS_ID_TOKEN_REQUEST_*), so no job reading Graph with sage365 writes one to a file."""
    readers = []
    for path in FILES:
        workflow = load(path)
        for job_id, job, step in steps(workflow):
            if re.search(r"\.venv/bin/sage365 (drift|export)\b", step.get("run", "")):
                readers.append((path.name, job_id))
                assert "AZURE_FEDERATED_TOKEN_FILE" not in step.get("env", {}), (path.name, job_id)
                assert step["env"]["AZURE_CLIENT_ID"] == "${{ vars.SAGE365_READ_CLIENT_ID }}", (path.name, job_id)
                assert job["permissions"]["id-token"] == "write", (path.name, job_id)
                assert not any("ci oidc-token" in other.get("run", "") for other in job["steps"]), (path.name, job_id)
    assert readers == [("nightly.yml", "drift"), ("pull-request.yml", "drift")]


def test_pulumi_runs_preview_or_up_never_destroy():
    commands = {}
    for path in FILES:
        assert not re.search(r"pulumi\s+destroy|command:\s*destroy|remove:\s*true", path.read_text()), path.name
        for job_id, _job, step in steps(load(path)):
            if step.get("uses", "").startswith("pulumi/actions@"):
                commands[(path.name, job_id)] = step["with"].get("command")
                if "command" in step["with"]:
                    assert step["with"]["policyPacks"] == "policies"
                    assert step["with"]["stack-name"] == "${{ matrix.stack }}"
                assert step["with"]["pulumi-version"] == "3.272.0"
            if "pulumi " in step.get("run", "").replace(".venv/bin/sage365", ""):
                raise AssertionError(f"{path.name}:{job_id}: pulumi is run through pulumi/actions or sage365 ci preview-stacks only")
    # The nightly job only installs the CLI; `sage365 ci preview-stacks` runs previews, never anything else.
    assert commands == {("pull-request.yml", "preview"): "preview", ("main.yml", "up"): "up",
                        ("nightly.yml", "refresh"): None}


def test_the_pull_request_preview_and_nightly_refresh_settings():
    preview = load(WORKFLOWS / "pull-request.yml")["jobs"]["preview"]
    step = next(s for s in preview["steps"] if s.get("uses", "").startswith("pulumi/actions@"))
    assert step["with"]["comment-on-pr"] is True
    assert preview["strategy"]["matrix"] == "${{ fromJSON(needs.validate.outputs.matrix) }}"
    refresh = load(WORKFLOWS / "nightly.yml")["jobs"]["refresh"]
    assert refresh["strategy"]["matrix"] == "${{ fromJSON(needs.drift.outputs.batches) }}"
    run = next(s["run"] for s in refresh["steps"] if "preview-stacks" in s.get("run", ""))
    assert run == (".venv/bin/sage365 ci preview-stacks --stacks \"$STACKS\" --refresh --expect-no-changes "
                   "--policy-pack policies --summary \"$GITHUB_STEP_SUMMARY\" --results preview-results.json")
    issues = load(WORKFLOWS / "nightly.yml")["jobs"]["issues"]
    assert issues["needs"] == ["drift", "refresh"]
    run = next(s["run"] for s in issues["steps"] if "drift-issues" in s.get("run", ""))
    assert "--preview-results out/previews" in run
    comment = load(WORKFLOWS / "pull-request.yml")["jobs"]["comment"]
    sticky = next(s for s in comment["steps"] if s.get("uses", "").startswith("marocchino/"))
    assert sticky["with"] == {"header": "sage365-drift", "path": "out/drift.md"}


def test_up_needs_the_reviewed_environment_and_runs_one_at_a_time_per_tenant():
    up = load(WORKFLOWS / "main.yml")["jobs"]["up"]
    assert up["environment"] == "sage365-deploy"
    assert up["concurrency"] == {"group": "sage365-stack-${{ matrix.stack }}", "cancel-in-progress": False}
    for path in FILES:
        for job_id, job in load(path)["jobs"].items():
            if job_id != "up":
                assert job.get("environment") in (None, "sage365-read"), (path.name, job_id)


# --- every sage365 invocation exists ---------------------------------------------------

GROUPS = {"stacks", "ci", "sandbox"}


def invocations() -> list[tuple[str, list[str]]]:
    """(where, argv) for each `sage365 ...` in the workflows' run steps and the pre-commit hooks."""
    found: list[tuple[str, list[str]]] = []
    texts: list[tuple[str, str]] = []
    for path in FILES:
        for job_id, _job, step in steps(load(path)):
            if "run" in step:
                texts.append((f"{path.name}:{job_id}", step["run"]))
    for name in (".pre-commit-config.yaml", ".pre-commit-hooks.yaml"):
        data = yaml.safe_load((ROOT / name).read_text())
        hooks = data if isinstance(data, list) else [h for repo in data["repos"] for h in repo["hooks"]]
        texts += [(f"{name}:{hook['id']}", hook["entry"]) for hook in hooks]
    for where, text in texts:
        for line in text.splitlines():
            for match in re.finditer(r"(?:\.venv/bin/sage365|^sage365)((?:\s+[^|;&()<>\s][^\s|;&()<>]*)*)", line):
                found.append((where, shlex.split(match.group(1))))
    return found


def test_invocations_are_found():
    commands = sorted({" ".join(argv[:2] if argv[0] in GROUPS else argv[:1]) for _, argv in invocations()})
    assert commands == ["affected", "ci drift-issues", "ci preview-stacks", "ci render", "drift",
                        "stacks check", "validate"]


@pytest.mark.parametrize("where,argv", invocations(), ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_each_invocation_is_an_existing_command_with_existing_options(where, argv):
    command = argv[:2] if argv[0] in GROUPS else argv[:1]
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, (where, result.output)
    for option in (a for a in argv if a.startswith("--")):
        assert re.search(rf"{re.escape(option)}\b", result.stdout), f"{where}: {' '.join(argv)}: unknown option {option}"
