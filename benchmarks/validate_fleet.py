"""Benchmark: validate a synthetic fleet of N tenant files (loader + schema + rules).

Run: .venv/bin/python benchmarks/validate_fleet.py [--tenants N]
Prints files/s and the per-file cost; writes nothing outside a temporary folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from sage365.catalog import load_catalog
from sage365.declaration import tenant_files
from sage365.validation import validate

TEMPLATE = """# yaml-language-server: $schema=../schemas/tenant.schema.json
apiVersion: sage365/v1
kind: Tenant
metadata:
  name: {name}
  environment: sandbox
spec:
  tenantId: {tenant_id}
  primaryDomain: {name}.onmicrosoft.com
  domains: [{name}.fr]
  administrator:
    userPrincipalName: admin@{name}.onmicrosoft.com
  consents: [sage-business-center, sage-contact]
  addins:
    - app: sage-contact
      group: {{displayName: Sage Contact users}}
      users: [{users}]
  waivers:
    - check: tenant.subscription
      reason: Business Basic until the renewal
      expires: 2099-12-31
"""


def write_fleet(folder: Path, count: int) -> None:
    tenants = folder / "tenants"
    stacks = folder / "stacks"
    tenants.mkdir()
    stacks.mkdir()
    for index in range(count):
        name = f"customer-{index:05d}"
        tenant_id = f"{index:08x}-0000-4000-8000-000000000000"
        users = ", ".join(f"user{u}@{name}.fr" for u in range(10))
        (tenants / f"{name}.yaml").write_text(TEMPLATE.format(name=name, tenant_id=tenant_id, users=users))
        (stacks / f"Pulumi.{name}.yaml").write_text(f"config:\n  azuread:tenantId: {tenant_id}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    catalog = load_catalog()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_fleet(folder, args.tenants)
        files = tenant_files([folder / "tenants"])
        timings = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            result = validate(files, catalog, today=dt.date(2026, 11, 28), stacks_dir=folder / "stacks")
            timings.append(time.perf_counter() - start)
            assert not result.problems, result.problems[:3]
    best = min(timings)
    print(f"validate: {args.tenants} tenant files, best of {args.rounds}: {best:.2f} s "
          f"({args.tenants / best:.0f} files/s, {best / args.tenants * 1000:.2f} ms/file; "
          f"median {statistics.median(timings):.2f} s)")


if __name__ == "__main__":
    main()
