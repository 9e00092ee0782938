"""The loaders return exact frozen dataclasses; nothing else parses YAML."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from sage365.catalog import Addin, App, load_catalog
from sage365.declaration import (
    AddinAssignment,
    Administrator,
    ConnectorDeclaration,
    DeclarationError,
    Licence,
    Tenant,
    Waiver,
    load_tenant,
)


def test_complete_example_loads_exactly():
    tenant = load_tenant("tenants/contoso.yaml")
    assert tenant == Tenant(
        name="contoso",
        tenant_id="11111111-1111-4111-8111-111111111111",
        primary_domain="contoso.onmicrosoft.com",
        administrator=Administrator("admin@contoso.onmicrosoft.com", Licence(("P1", "P2"), assign_free_seat=True)),
        domains=("contoso.fr",),
        subscription_skus=("SPB", "O365_BUSINESS_PREMIUM"),
        consents=("sage-business-center", "sage-contact"),
        addins=(AddinAssignment("sage-contact", "Sage Contact users", ("alice@contoso.fr", "bob@contoso.fr")),),
        waivers=(),
        connector=ConnectorDeclaration(machine_name="SAGE100-SRV", minimum_version="1.5.0.0"),
        environment="sandbox",
    )
    assert tenant.labels == {"partner-office": "lyon"}
    assert tenant.path == "tenants/contoso.yaml"


def test_minimal_example_gets_the_defaults():
    tenant = load_tenant("tenants/fabrikam.yaml")
    assert tenant.administrator.licence == Licence(("P1", "P2"), assign_free_seat=False)
    assert (tenant.subscription_skus, tenant.addins, tenant.waivers, tenant.domains) == (None, (), (), ())


def test_waiver_covers_until_its_expiry_day_inclusive():
    waiver = load_tenant("tenants/northwind.yaml").waivers[0]
    assert waiver == Waiver(
        check="tenant.subscription",
        reason="Business Basic until the renewal to Business Standard signed on 2026-11-15",
        expires=dt.date(2027, 6, 30),
    )
    assert waiver.covers("tenant.subscription", "O365_BUSINESS_ESSENTIALS", dt.date(2027, 6, 30))
    assert not waiver.covers("tenant.subscription", "O365_BUSINESS_ESSENTIALS", dt.date(2027, 7, 1))
    assert not waiver.covers("admin.exists", "it-admin@northwind-traders.fr", dt.date(2027, 1, 1))
    scoped = dataclasses.replace(waiver, resource="Alice@Contoso.fr")
    assert scoped.covers("tenant.subscription", "alice@contoso.fr", dt.date(2027, 1, 1))
    assert not scoped.covers("tenant.subscription", "bob@contoso.fr", dt.date(2027, 1, 1))


def test_declarations_are_frozen():
    tenant = load_tenant("tenants/fabrikam.yaml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        tenant.name = "other"  # type: ignore[misc]


def test_tenant_id_and_domains_are_normalised_to_lower_case(tmp_path):
    text = Path("tenants/fabrikam.yaml").read_text()
    text = text.replace("22222222-2222-4222-8222-222222222222", "ABCDEF00-2222-4222-8222-222222222222")
    text = text.replace("primaryDomain: fabrikam.onmicrosoft.com", "primaryDomain: Fabrikam.OnMicrosoft.com")
    (tmp_path / "fabrikam.yaml").write_text(text)
    tenant = load_tenant(tmp_path / "fabrikam.yaml")
    assert (tenant.tenant_id, tenant.primary_domain) == ("abcdef00-2222-4222-8222-222222222222", "fabrikam.onmicrosoft.com")


def test_catalogue_loads_exactly():
    catalog = load_catalog("catalog/catalog.yaml")
    assert catalog.apps["sage-contact"] == App(
        key="sage-contact",
        display_name="Sage Contact",
        app_id="00000000-5a6e-4000-8000-000000000002",
        example=True,
        delegated_scopes=("openid", "profile", "offline_access", "User.Read", "Contacts.ReadWrite", "Mail.Read"),
        app_roles=(),
        addin=Addin(Path("catalog/addins/sage-contact.xml"), requires_assignment=True, group_prefix="Sage Contact"),
    )
    assert sorted(catalog.apps) == ["sage-business-center", "sage-connector", "sage-contact"]
    assert catalog.compatible_skus(None) == (
        "O365_BUSINESS_PREMIUM", "SPB", "SPE_E3", "SPE_E5", "STANDARDPACK", "ENTERPRISEPACK", "ENTERPRISEPREMIUM",
    )
    assert catalog.compatible_skus(("SPB",)) == ("SPB",)
    assert catalog.plan_names(("P1", "P2")) == frozenset({"AAD_PREMIUM", "AAD_PREMIUM_P2"})
    assert catalog.plan_names(("P2",)) == frozenset({"AAD_PREMIUM_P2"})


def test_every_shipped_app_id_is_marked_as_an_example():
    for app in load_catalog().apps.values():
        assert app.example and app.app_id.startswith("00000000-5a6e-"), app.key


def test_catalogue_with_missing_manifest_is_refused(tmp_path):
    text = Path("catalog/catalog.yaml").read_text().replace("addins/sage-contact.xml", "addins/gone.xml")
    (tmp_path / "catalog.yaml").write_text(text)
    with pytest.raises(DeclarationError) as caught:
        load_catalog(tmp_path / "catalog.yaml")
    assert [str(p) for p in caught.value.problems] == [
        f"{tmp_path}/catalog.yaml:26:9: spec.apps.sage-contact.addin.manifest: file not found: addins/gone.xml"
    ]


def test_catalogue_schema_errors_are_positioned(tmp_path):
    text = Path("catalog/catalog.yaml").read_text().replace("appId: 00000000-5a6e-4000-8000-000000000003", "appId: not-a-guid")
    (tmp_path / "catalog.yaml").write_text(text)
    with pytest.raises(DeclarationError) as caught:
        load_catalog(tmp_path / "catalog.yaml")
    assert [str(p) for p in caught.value.problems] == [
        f"{tmp_path}/catalog.yaml:30:7: spec.apps.sage-connector.appId: 'not-a-guid' is not a valid GUID"
    ]


HEAVY = ('msgraph', 'pulumi', 'azure.identity', 'httpx', 'jsonschema', 'yaml', 'msgspec', 'rich', 'markdown_it')


def test_help_is_fast_because_heavy_libraries_are_not_imported():
    """`sage365 --help` runs (exit 0) and imports none of the heavy libraries nor a command's module."""
    code = ("import sys; sys.argv = ['sage365', '--help']; from sage365.cli import main\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
            f"print(code, sorted(m for m in {HEAVY!r} if m in sys.modules), "
            "sorted(m for m in sys.modules if m.startswith('sage365')), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr == "0 [] ['sage365', 'sage365.cli']\n"
    assert "validate  Validate tenant declarations" in done.stdout
