"""Office add-in manifests (XML): the add-in's `<Id>`, `<Version>` and hosts.

Sage Contact ships as an XML add-in manifest (Sage Business Centre, step 5). Exchange
Online's Centralized Deployment (`New-App -OrganizationApp -FileData ...`) identifies the
deployed add-in by the manifest's `<Id>` (Get-App's `AppId`) and reports its `<Version>`
(`AppVersion`), so the drift check and the Pulumi resource key on these two values.

Parsed with defusedxml: a manifest comes from outside (a download), and the standard
library's parsers would expand entities.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

MAX_MANIFEST_BYTES = 256 * 1024  # Microsoft 365 refuses larger add-in manifests
# Office's manifest schema: n[.n[.n[.n]]], each n up to 5 ASCII digits. [0-9], never \d: \d
# matches any Unicode digit (fullwidth, Arabic-Indic), which int() would then accept.
_VERSION = re.compile(r"[0-9]{1,5}(?:\.[0-9]{1,5}){0,3}")
# What a service reports (Get-App's AppVersion, a connector's version): 1 to 4 dotted ASCII
# numbers, nothing else. int() alone is too lenient ("1_0", "+1", " 1", fullwidth digits).
_REPORTED = re.compile(r"[0-9]+(?:\.[0-9]+){0,3}")
_NS = re.compile(r"^\{[^}]*\}")


class ManifestError(ValueError):
    """A manifest that cannot be deployed; the message names the file and the element."""


@dataclass(frozen=True)
class Manifest:
    path: str
    id: str  # the add-in id (<Id>), lower-case GUID: Exchange's AppId
    version: str  # <Version>, e.g. 1.0.0.0
    display_name: str
    hosts: tuple[str, ...]  # <Hosts><Host Name="..."/>, e.g. ("Mailbox",)
    data: bytes  # the file as read: what New-App -FileData receives

    @property
    def version_key(self) -> tuple[int, ...]:
        return version_key(self.version)


def version_key(version: str) -> tuple[int, ...]:
    """A dotted version as a comparable tuple, padded to four parts (1.2 == 1.2.0.0).

    Only 1 to 4 dotted ASCII numbers (surrounding whitespace aside) are a version; anything
    else raises ValueError.
    """
    text = version.strip()
    if not _REPORTED.fullmatch(text):
        raise ValueError(f"{version!r} is not a dotted version of 1 to 4 numbers")
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (4 - len(parts)))


def reported_version_key(version: str | None) -> tuple[int, ...]:
    """version_key of a version a service reported, or () when it cannot be read (empty,
    "latest", "1.0.x", "1_0", fullwidth digits, five parts, null).

    For the drift checks: () sorts below every version and equals none, so an unreadable
    version never passes a comparison (addin.deployment reports it as a version mismatch,
    connector.status as below the minimum). Never use it to decide a change: () only means
    "unknown", not "older" (components.addin_deployment stops on it instead).
    """
    if not isinstance(version, str):
        return ()
    try:
        return version_key(version)
    except ValueError:
        return ()


def is_version(text: str) -> bool:
    """A manifest's <Version> as Office's schema allows it."""
    return bool(_VERSION.fullmatch(text.strip()))


def _local(tag: str) -> str:
    return _NS.sub("", tag)


def _child(element, name: str):
    return next((c for c in element if _local(c.tag) == name), None)


def parse_manifest(data: bytes, path: str = "<manifest>") -> Manifest:
    """Parse and validate an XML add-in manifest; ManifestError names what is wrong."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"{path}: manifest is {len(data)} bytes, over the {MAX_MANIFEST_BYTES} bytes Microsoft 365 accepts")
    try:
        root = SafeET.fromstring(data)
    except DefusedXmlException as exc:
        raise ManifestError(f"{path}: refused: {type(exc).__name__} (entities and DTDs are not allowed)") from None
    except SafeET.ParseError as exc:
        raise ManifestError(f"{path}: not well-formed XML: {exc}") from None
    if _local(root.tag) != "OfficeApp":
        raise ManifestError(f"{path}: root element is <{_local(root.tag)}>, expected <OfficeApp> (an XML add-in manifest)")

    def text(name: str) -> str:
        element = _child(root, name)
        value = (element.text or "").strip() if element is not None else ""
        if not value:
            raise ManifestError(f"{path}: <OfficeApp><{name}> is missing or empty")
        return value

    raw_id = text("Id")
    try:
        add_in_id = str(uuid.UUID(raw_id))
    except ValueError:
        raise ManifestError(f"{path}: <Id> {raw_id!r} is not a GUID") from None
    version = text("Version")
    if not is_version(version):
        raise ManifestError(f"{path}: <Version> {version!r} is not n[.n[.n[.n]]]")
    hosts_element = _child(root, "Hosts")
    hosts = tuple(h.get("Name", "") for h in hosts_element if _local(h.tag) == "Host") if hosts_element is not None else ()
    if "Mailbox" not in hosts:
        found = ", ".join(h for h in hosts if h) or "none"
        raise ManifestError(f"{path}: <Hosts> must include <Host Name=\"Mailbox\"/> for an Outlook add-in (found: {found})")
    name_element = _child(root, "DisplayName")
    display_name = (name_element.get("DefaultValue", "") if name_element is not None else "") or add_in_id
    return Manifest(path=path, id=add_in_id, version=version, display_name=display_name, hosts=hosts, data=data)


def load_manifest(path: str | Path) -> Manifest:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ManifestError(f"{path}: {exc.strerror}") from None
    return parse_manifest(data, str(path))
