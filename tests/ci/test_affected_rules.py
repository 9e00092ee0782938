"""sage365.affected's rules on change lists, and the promise behind NOT_SHARED_FOLDERS."""

from __future__ import annotations

import ast
from pathlib import Path

from sage365.affected import (
    NOT_SHARED_FOLDERS,
    AffectedTenant,
    FileChange,
    affected_tenants,
    batch_matrix,
    fleet,
    is_shared,
    matrix,
    removal_action,
)

ROOT = Path(__file__).resolve().parents[2]
FLEET = ["contoso", "fabrikam", "northwind"]


def test_paths_and_what_they_touch():
    assert [is_shared(p) for p in (
        "catalog/catalog.yaml", "catalog/addins/sage-contact.xml", "components/tenant.py", "policies/PulumiPolicy.yaml",
        "schemas/tenant.schema.json", "__main__.py", "Pulumi.yaml", "pyproject.toml", "constraints.txt",
        "sage365/gate.py", "sage365/graph/reader.py",
    )] == [True] * 11
    assert [is_shared(p) for p in (
        "README.md", "docs/ci.md", "tests/ci/test_affected_rules.py", ".github/workflows/pull-request.yml",
        "sage365/cli/drift.py", "sage365/reports/html_report.py", "sage365/sandbox/server.py", "stacks/README.md",
        "tenants/README.md", "catalog.yaml", "subdir/Pulumi.yaml",
    )] == [False] * 11


def test_a_tenant_in_a_subfolder_or_with_another_suffix_is_not_a_tenant():
    changes = [FileChange("M", "tenants/old/contoso.yaml"), FileChange("M", "tenants/contoso.json"),
               FileChange("M", "stacks/Pulumi.contoso.yml"), FileChange("M", "tenants/fabrikam.yml")]
    assert affected_tenants(changes, FLEET) == [AffectedTenant("fabrikam", "modified", ("tenants/fabrikam.yml",))]


def test_rename_of_a_tenant_file_to_another_extension_is_a_modification():
    changes = [FileChange("R", "tenants/contoso.yaml", "tenants/contoso.yml")]
    assert affected_tenants(changes, FLEET) == [AffectedTenant("contoso", "modified", ("tenants/contoso.yaml",))]


def test_a_stack_file_without_a_tenant_is_removed():
    changes = [FileChange("A", "stacks/Pulumi.ghost.yaml")]
    assert affected_tenants(changes, FLEET) == [
        AffectedTenant("ghost", "removed", ("stacks/Pulumi.ghost.yaml",), action=removal_action("ghost"))]


def test_a_shared_change_with_a_deletion_keeps_the_deleted_tenant_removed():
    changes = [FileChange("M", "catalog/catalog.yaml"), FileChange("D", "tenants/fabrikam.yaml")]
    result = affected_tenants(changes, ["contoso", "northwind"])
    assert [(t.tenant, t.change) for t in result] == [("contoso", "shared"), ("fabrikam", "removed"), ("northwind", "shared")]
    assert [t.deployable for t in result] == [True, False, True]


def test_many_shared_files_are_abridged_in_the_matrix():
    changes = [FileChange("M", f"components/c{i}.py") for i in range(5)] + [FileChange("M", "tenants/contoso.yaml")]
    assert matrix(affected_tenants(changes, ["contoso"])) == {"include": [
        {"tenant": "contoso", "stack": "contoso", "change": "modified",
         "reason": "tenants/contoso.yaml, components/c0.py, components/c1.py, components/c2.py, 2 more shared file(s)"}]}


def test_a_thousand_tenant_matrix_fits_a_job_output():
    fleet = [f"customer-{i:04d}" for i in range(1000)]
    changes = [FileChange("M", f"sage365/m{i}.py") for i in range(50)]
    import json
    text = json.dumps(matrix(affected_tenants(changes, fleet)), separators=(",", ":"))
    assert len(text) < 200_000  # GitHub: 1 MB for all of a job's outputs


def _sage365_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name == "sage365" or name.startswith("sage365.")}


def _module_file(name: str) -> Path | None:
    base = ROOT / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def test_the_pulumi_program_never_imports_what_affected_treats_as_not_shared():
    """Every module reachable from components/, __main__.py and policies/ (also imports inside
    functions, such as the gate's) lies outside NOT_SHARED_FOLDERS."""
    todo = [*ROOT.glob("components/*.py"), ROOT / "__main__.py", *ROOT.glob("policies/*.py")]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _sage365_imports(path):
            module = _module_file(name)
            if module is not None:
                todo.append(module)
    reached = sorted(str(p.relative_to(ROOT)) for p in seen)
    assert "sage365/graph/reader.py" in reached  # the walk does follow the gate's lazy imports
    assert [p for p in reached if p.startswith(NOT_SHARED_FOLDERS)] == []


def test_batches_cover_the_fleet_once_and_leave_removed_tenants_out():
    tenants = fleet([f"t{i:03d}" for i in range(1000)]) + [AffectedTenant("gone", "removed", ())]
    result = batch_matrix(tenants, 25)["include"]
    assert len(result) == 40
    assert result[0] == {"batch": "1/40", "stacks": " ".join(f"t{i:03d}" for i in range(25)), "count": "25"}
    assert [name for entry in result for name in entry["stacks"].split()] == [f"t{i:03d}" for i in range(1000)]
    assert batch_matrix(fleet(["a", "b", "c"]), 2) == {"include": [
        {"batch": "1/2", "stacks": "a b", "count": "2"}, {"batch": "2/2", "stacks": "c", "count": "1"}]}
    assert batch_matrix([], 25) == {"include": []}
