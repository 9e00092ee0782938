"""The policy pack in preview: the program runs under the mock runtime as `pulumi preview`
would (what is created has unknown ids and object ids), and its resources go through
pulumi_policy's own analyzer servicer, with its unknown-value proxy, as the engine sends them.

A policy that touches an unknown value is downgraded by pulumi_policy to an advisory "can't
run policy ... during preview": these tests show that no sage365 policy is, and that an extra
scope is refused (mandatory) before anything is created.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from google.protobuf import json_format, struct_pb2
from pulumi.output import Unknown
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from components.program import main
from sage365.catalog import load_catalog
from tests.components.harness import TENANT_IDS, ProgramRun, run_program

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "policies"))
import sage365_policies as rules  # noqa: E402

CATALOG = load_catalog(ROOT / "catalog/catalog.yaml")
TENANTS = rules.declared_tenant_ids(ROOT / "tenants")
CONTACT = "00000000-5a6e-4000-8000-000000000002"


def servicer() -> _PolicyAnalyzerServicer:
    return _PolicyAnalyzerServicer("sage365", "0.0.1", rules.policies(CATALOG, TENANTS), EnforcementLevel.MANDATORY)


def wire(value):
    """A value as the engine sends it to an analyzer: unknowns as pulumi_policy's sentinel."""
    if isinstance(value, Unknown):
        return UNKNOWN_STRING_VALUE
    if isinstance(value, dict):
        return {k: wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [wire(v) for v in value]
    return value


def struct(props: dict) -> struct_pb2.Struct:
    return json_format.ParseDict(wire(props), struct_pb2.Struct())


def requests(run: ProgramRun) -> tuple[list[analyzer_pb2.AnalyzeRequest], analyzer_pb2.AnalyzeStackRequest]:
    by_urn = {r.urn: r for r in run.resources}
    single, stack = [], []
    for r in run.resources:
        if not r.custom or r.type.startswith("pulumi:providers:"):
            continue
        provider_urn = r.provider.rsplit("::", 1)[0]
        provider = analyzer_pb2.AnalyzerProviderResource(
            type=by_urn[provider_urn].type, properties=struct(run.state[provider_urn]), urn=provider_urn,
            name=by_urn[provider_urn].name)
        options = analyzer_pb2.AnalyzerResourceOptions(protect=r.protect, parent=r.parent)
        props = struct(run.state[r.urn])
        single.append(analyzer_pb2.AnalyzeRequest(type=r.type, properties=props, urn=r.urn, name=r.name,
                                                  options=options, provider=provider))
        stack.append(analyzer_pb2.AnalyzerResource(
            type=r.type, properties=props, urn=r.urn, name=r.name, options=options, provider=provider, parent=r.parent,
            propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(v))
                                  for k, v in r.property_dependencies},
        ))
    return single, analyzer_pb2.AnalyzeStackRequest(resources=stack)


def diagnostics(run: ProgramRun) -> list[tuple[str, str, int, str]]:
    single, stack = requests(run)
    analyzer = servicer()
    found = []
    for response in [*(analyzer.Analyze(r, None) for r in single), analyzer.AnalyzeStack(stack, None)]:
        found += [(d.policyName, d.message, d.enforcementLevel, d.urn.rsplit("::", 1)[-1]) for d in response.diagnostics]
    return found


def preview(stack: str, **config: str) -> ProgramRun:
    run = run_program(main, stack=stack, preview=True, config={
        "azuread:tenantId": TENANT_IDS[stack], "sage365:skipGate": "true", **config})
    assert run.error is None
    return run


def test_the_program_passes_every_policy_in_preview_with_unknown_object_ids():
    run = preview("contoso")
    grant = run.state[run.by_name["contoso-consent-sage-contact-grant"].urn]
    assert isinstance(grant["servicePrincipalObjectId"], Unknown)  # the SP is created in this plan
    assert diagnostics(run) == []  # no violation, and no "can't run policy during preview"


def test_an_extra_scope_is_refused_in_preview_before_anything_is_created(tmp_path):
    # A hand-edited program (here: its catalogue) widens Sage Contact's grant; the pack keeps the shipped catalogue.
    shutil.copytree(ROOT / "catalog", tmp_path / "catalog")
    path = tmp_path / "catalog/catalog.yaml"
    text = path.read_text()
    widened = "delegatedScopes: [openid, profile, offline_access, User.Read, Contacts.ReadWrite, Mail.Read, Mail.Send]"
    path.write_text(text.replace(
        "delegatedScopes: [openid, profile, offline_access, User.Read, Contacts.ReadWrite, Mail.Read]", widened, 1))
    run = preview("contoso", **{"sage365:catalogFile": str(path)})
    message = (f"delegated grant for Sage app 'sage-contact' ({CONTACT}) has scopes outside the catalogue: Mail.Send; "
               "allowed: openid, profile, offline_access, User.Read, Contacts.ReadWrite, Mail.Read")
    mandatory = analyzer_pb2.EnforcementLevel.Value("MANDATORY")
    assert diagnostics(run) == [
        # The resource policy: runs before the grant's create, in preview and in up (the engine
        # attaches the resource's URN to a resource policy's violation itself).
        ("sage365-grant-scopes-in-catalogue",
         f"A Sage app's delegated grant carries only the catalogue's scopes.\n{message}", mandatory, ""),
        # The stack policy finds the client through the grant's property dependency on the SP.
        ("sage365-grant-client",
         "A delegated grant's client is the Sage app its Consent is named for, with the catalogue's scopes.\n"
         f"{message}", mandatory, "contoso-consent-sage-contact-grant"),
    ]


def test_an_unknown_value_read_by_a_rule_would_have_been_advisory():
    # What the proxy does to a rule that reads an unknown value: the reason for rules.known().
    from pulumi_policy import ResourceValidationPolicy

    def naive(args, report_violation):
        if args.props.get("objectId") != "x":
            report_violation("never reached", None)

    analyzer = _PolicyAnalyzerServicer("p", "0.0.1", [ResourceValidationPolicy("naive", "d", naive)],
                                       EnforcementLevel.MANDATORY)
    request = analyzer_pb2.AnalyzeRequest(type=rules.SERVICE_PRINCIPAL, properties=struct({"objectId": Unknown()}),
                                          urn="urn:pulumi:s::p::t::n", name="n")
    [diagnostic] = analyzer.Analyze(request, None).diagnostics
    assert diagnostic.enforcementLevel == analyzer_pb2.EnforcementLevel.Value("ADVISORY")
    assert diagnostic.message == ("can't run policy 'naive' from policy pack 'p@v0.0.1' during preview: "
                                  "string value at .objectId can't be known during preview")
