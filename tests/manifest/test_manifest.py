"""Add-in manifests: what Centralized Deployment needs (<Id>, <Version>, a Mailbox host), and
the catalogue refusing a manifest without it, with the catalogue's file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from sage365.catalog import load_catalog
from sage365.declaration import DeclarationError
from sage365.manifest import (
    Manifest,
    ManifestError,
    is_version,
    load_manifest,
    parse_manifest,
    reported_version_key,
    version_key,
)

ROOT = Path(__file__).resolve().parents[2]
NS = 'xmlns="http://schemas.microsoft.com/office/appforoffice/1.1"'


def xml(inner: str, root: str = "OfficeApp") -> bytes:
    return f"<?xml version='1.0'?><{root} {NS}>{inner}</{root}>".encode()


GOOD = "<Id>00000000-5A6E-4000-8000-0000000000A1</Id><Version>1.2</Version><Hosts><Host Name='Mailbox'/></Hosts>"


def test_the_shipped_example_is_valid_and_marked_as_an_example():
    path = ROOT / "catalog" / "addins" / "sage-contact.xml"
    manifest = load_manifest(path)
    assert (manifest.id, manifest.version, manifest.display_name, manifest.hosts) == (
        "00000000-5a6e-4000-8000-0000000000a1", "1.0.0.0", "Sage Contact (example)", ("Mailbox",))
    assert "EXAMPLE manifest" in path.read_text(encoding="utf-8")
    assert manifest.id.startswith("00000000-5a6e-")  # the catalogue's example-id pattern


def test_a_valid_manifest_parses_exactly():
    data = xml(GOOD + "<DisplayName DefaultValue='Contact'/>")
    assert parse_manifest(data, "m.xml") == Manifest(
        path="m.xml", id="00000000-5a6e-4000-8000-0000000000a1", version="1.2", display_name="Contact",
        hosts=("Mailbox",), data=data)
    assert version_key("1.2") == version_key("1.2.0.0") < version_key("1.10")


# Not 1 to 4 dotted ASCII numbers: int() alone would read "1_0" as 10, "+1" and " 1" as 1, and
# fullwidth or Arabic-Indic digits as digits; a fifth part would sort above 1.0.0.0.
LOOSE = ["1_0", "+1.0", "-1.0", "1. 0", "\uff11.0", "\u0661.0", "1.0.0.0.0", "1.0.", ".1", "1e3", "0x1", "1.0\n1"]


@pytest.mark.parametrize("reported", ["", " ", "1.0.x", "latest", "1..0", None, *LOOSE], ids=repr)
def test_a_reported_version_that_is_not_dotted_is_below_every_version(reported):
    # The drift checks' semantics: () sorts below every version and equals none, so an
    # unreadable version never passes a comparison.
    assert reported_version_key(reported) == ()
    assert reported_version_key(reported) < version_key("0.0.0.1")
    assert reported_version_key(reported) != version_key("0")


@pytest.mark.parametrize("text", LOOSE, ids=repr)
def test_version_key_refuses_what_is_not_1_to_4_ascii_numbers(text):
    with pytest.raises(ValueError, match="is not a dotted version of 1 to 4 numbers"):
        version_key(text)


@pytest.mark.parametrize(("text", "valid"), [("1", True), ("1.2.3.4", True), ("99999.0", True), ("100000.0", False),
                                             ("1.2.3.4.5", False), ("\uff11.0", False), ("1_0", False), ("1.0\n", True)])
def test_a_manifest_version_is_1_to_4_ascii_numbers_of_up_to_5_digits(text, valid):
    assert is_version(text) is valid


def test_a_dotted_reported_version_keys_as_version_key():
    assert reported_version_key(" 1.2 ") == version_key("1.2.0.0") == (1, 2, 0, 0)


@pytest.mark.parametrize(("data", "message"), [
    (xml("<Version>1.0</Version><Hosts><Host Name='Mailbox'/></Hosts>"), "m.xml: <OfficeApp><Id> is missing or empty"),
    (xml("<Id>sage-contact</Id><Version>1.0</Version>"), "m.xml: <Id> 'sage-contact' is not a GUID"),
    (xml("<Id>00000000-5a6e-4000-8000-0000000000a1</Id><Version>v1</Version>"), "m.xml: <Version> 'v1' is not n[.n[.n[.n]]]"),
    (xml("<Id>00000000-5a6e-4000-8000-0000000000a1</Id><Version>1.0</Version><Hosts><Host Name='Document'/></Hosts>"),
     'm.xml: <Hosts> must include <Host Name="Mailbox"/> for an Outlook add-in (found: Document)'),
    (xml(GOOD, root="Manifest"), "m.xml: root element is <Manifest>, expected <OfficeApp> (an XML add-in manifest)"),
    (b"<OfficeApp><Id>", "m.xml: not well-formed XML: no element found: line 1, column 15"),
    (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx"><!ENTITY y "&x;&x;&x;">]><OfficeApp>&y;</OfficeApp>',
     "m.xml: refused: EntitiesForbidden (entities and DTDs are not allowed)"),
    (b" " * (256 * 1024 + 1), "m.xml: manifest is 262145 bytes, over the 262144 bytes Microsoft 365 accepts"),
])
def test_what_cannot_be_deployed_is_refused_with_the_reason(data, message):
    with pytest.raises(ManifestError) as refused:
        parse_manifest(data, "m.xml")
    assert str(refused.value) == message


def test_the_catalogue_refuses_a_manifest_without_a_mailbox_host(tmp_path):
    catalog = (ROOT / "tests" / "checks" / "fixtures" / "catalog.yaml").read_text(encoding="utf-8")
    (tmp_path / "catalog.yaml").write_text(catalog, encoding="utf-8")
    (tmp_path / "addins").mkdir()
    (tmp_path / "addins" / "sage-contact.xml").write_bytes(xml("<Id>00000000-5a6e-4000-8000-0000000000a1</Id><Version>1</Version>"))
    with pytest.raises(DeclarationError) as refused:
        load_catalog(tmp_path / "catalog.yaml")
    line = next(n for n, text in enumerate(catalog.splitlines(), 1) if "addin:" in text)
    assert str(refused.value) == (
        f"{tmp_path / 'catalog.yaml'}:{line}:15: spec.apps.sage-contact.addin.manifest: "
        f"{tmp_path / 'addins' / 'sage-contact.xml'}: <Hosts> must include <Host Name=\"Mailbox\"/> for an Outlook add-in "
        "(found: none)")
