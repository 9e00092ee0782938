"""`sage365 export`'s engine: discover tenants, declare them, validate, write the files.

Tenants are read concurrently, each through a client and credential of its own
(engine.tenant_client); one tenant's failure is its own result and never stops the
others. Names are settled in the order the tenants were given, so two tenants that would
get the same file name fail the same way on every run. Each declaration is checked by
`sage365 validate`'s own code before anything is written; files are written atomically
and never replace an existing one without `force` (and even then, never a file that
declares another tenant). Nothing here prints or exits.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import yaml

from sage365.catalog import Catalog
from sage365.files import OutputError, write_atomic
from sage365.graph.redact import redact
from sage365.onboarding.declare import Declared, declare, default_name
from sage365.onboarding.discovery import Discovery, DiscoveryError, discover

if TYPE_CHECKING:
    from sage365.graph.http import HttpLike

SLUG = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


@dataclass(frozen=True)
class Target:
    """One tenant to export: its id, and the name (slug) to give it, if not derived."""

    tenant_id: str
    name: str | None = None


@dataclass(frozen=True)
class Options:
    catalog: Catalog
    output: Path = Path(".")  # tenants/ and stacks/ are written under it
    graph_url: str | None = None
    force: bool = False
    addin_group_names: Mapping[str, str] = field(default_factory=dict)  # catalogue key -> group name
    credential_factory: Callable[[str], object] | None = None
    tenant_timeout: float = 120.0  # seconds for one tenant's whole read, as drift's --tenant-timeout


@dataclass(frozen=True)
class Exported:
    """The outcome for one tenant: the files written, or why not."""

    tenant_id: str
    name: str | None = None
    files: tuple[Path, ...] = ()
    error: str | None = None
    discovery: Discovery | None = None
    declared: Declared | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


async def read(target: Target, options: Options) -> Discovery | str:
    """One tenant's Discovery, or the message saying why it could not be read.

    Bounded as drift's read is (sage365.graph.guard): a deadline over the whole read, no
    redirect followed, the token's tenant checked; a limit hit anywhere fails the tenant."""
    from sage365.engine import NoClient, tenant_client
    from sage365.graph.guard import TenantGuard

    guard = TenantGuard(target.tenant_id, options.tenant_timeout)
    deadline = asyncio.timeout(options.tenant_timeout)
    try:
        guard.start()
        async with deadline:
            async with tenant_client(target.tenant_id, graph_url=options.graph_url,
                                     credential_factory=options.credential_factory, guard=guard) as (client, credential):
                found = await discover(client.request_adapter, target.tenant_id, options.catalog,
                                       addin_group_names=options.addin_group_names)
                found = await with_extras(found, options, credential, guard)
        return guard.violation or found
    except (DiscoveryError, NoClient) as exc:
        return guard.violation or str(exc)
    except TimeoutError:
        if not deadline.expired():
            raise
        return guard.timed_out_message().replace("nothing was checked", "nothing was written")
    except Exception as exc:  # a bug or an unexpected library error: this tenant only
        return guard.violation or redact(f"cannot read tenant {target.tenant_id}: {type(exc).__name__}: {exc}")


async def with_extras(found: Discovery, options: Options, credential: Any, guard: Any = None) -> Discovery:
    """`found` with what Graph v1.0 does not hold, read at the same time on one connection pool:
    the catalogue add-ins' Exchange organization apps and Graph beta's application proxy connectors."""
    from sage365.graph.http import HttpClient

    # The shared TLS context and response size limit (sage365.graph.http).
    async with HttpClient() as http:
        apps, connectors = await asyncio.gather(organization_apps(found, options, credential, http, guard),
                                                read_connectors(found, options, credential, http, guard))
    return dataclasses.replace(found, **apps, **connectors)


async def organization_apps(found: Discovery, options: Options, credential: Any, http: HttpLike,
                            guard: Any = None) -> dict:
    """The catalogue add-ins' Exchange organization apps, so a snapshot replays addin.deployment too;
    a refusal (no Exchange rights) is recorded, any other failure fails the tenant."""
    from sage365.exchange.client import ExchangeError
    from sage365.extras import raw_organization_apps

    ids = {a.addin.info.id for a in options.catalog.apps.values() if a.addin is not None and a.addin.info is not None}
    if not ids:
        return {}
    try:
        objects = await raw_organization_apps(found.tenant_id, graph_url=options.graph_url, exchange_url=None,
                                              credential=credential, http=http, guard=guard)
    except ExchangeError as exc:
        if exc.permission:
            return {"exchange_denied": True}
        raise DiscoveryError(f"cannot read Exchange Online's organization apps of {found.tenant_id}: {exc.describe()}") from None
    mine = [o for o in objects if str(o.get("AppId", "")).lower() in ids]
    return {"organization_apps": tuple(sorted(mine, key=lambda o: str(o["AppId"]).lower()))}


async def read_connectors(found: Discovery, options: Options, credential: Any, http: HttpLike,
                          guard: Any = None) -> dict:
    """Graph beta's application proxy connectors (one GET, paged), for spec.connector.

    A 403 is recorded (Microsoft documents no read-only permission for them, so a read-only
    identity gets it) and the declaration says so in a comment; then the connector app's
    sign-in activity, drift's fallback signal, is read too (one GET), so a snapshot replays
    connector.status as the tenant answered it. Any other failure fails the tenant, as every
    other unreadable part does."""
    from sage365.declaration import ConnectorDeclaration
    from sage365.graph import connectors as beta
    from sage365.graph.client import graph_url_from_env

    reader = beta.BetaReader(found.tenant_id, graph_url=graph_url_from_env(options.graph_url), credential=credential,
                             http=http, guard=guard)
    what = f"the application proxy connectors of {found.tenant_id} (Graph beta {beta.CONNECTORS_PATH})"
    try:
        objects = await reader.collection(beta.CONNECTORS_PATH)
    except beta.BetaError as exc:
        if exc.status != 403:
            raise DiscoveryError(f"cannot read {what}: {exc.describe()}") from None
        app = options.catalog.apps.get(ConnectorDeclaration().app)
        return {"connectors_denied": exc.describe(),
                "connector_sign_ins": await _sign_ins(reader, app.app_id) if app else ()}
    if not all(isinstance(o, dict) and isinstance(o.get("id"), str) and o["id"] for o in objects):
        raise DiscoveryError(f"cannot read {what}: an object without an id")
    return {"connectors": tuple(sorted(objects, key=lambda o: str(o["id"])))}


async def _sign_ins(reader: Any, app_id: str) -> tuple[dict, ...]:
    """The connector app's servicePrincipalSignInActivity rows; none when that is refused too
    (the sandbox state cannot say "refused", so a replay then shows no sign-in: see the note)."""
    from urllib.parse import quote

    from sage365.graph import connectors as beta
    from sage365.onboarding.discovery import odata_string

    try:
        rows = await reader.collection(f"{beta.SIGN_INS_PATH}?$filter={quote(f'appId eq {odata_string(app_id)}', safe='')}")
    except beta.BetaError as exc:
        if exc.status == 403:
            return ()
        raise DiscoveryError(f"cannot read the connector app's sign-in activity (Graph beta {beta.SIGN_INS_PATH}): "
                             f"{exc.describe()}") from None
    mine = [r for r in rows if isinstance(r, dict) and str(r.get("appId", "")).lower() == app_id.lower() and r.get("id")]
    return tuple(sorted(mine, key=lambda r: str(r["id"])))


async def discover_all(targets: Sequence[Target], options: Options, *, concurrency: int = 16,
                       progress: Callable[[Target, bool], None] | None = None) -> list[tuple[Discovery | str, float]]:
    """Every target's Discovery (or error) with its read time, in `targets` order."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    gate = asyncio.Semaphore(concurrency)

    async def one(target: Target) -> tuple[Discovery | str, float]:
        async with gate:
            start = time.perf_counter()
            found = await read(target, options)
            elapsed = time.perf_counter() - start
        if progress is not None:
            progress(target, isinstance(found, Discovery))
        return found, elapsed

    return list(await asyncio.gather(*(one(t) for t in targets)))


def export_all(targets: Sequence[Target], options: Options, *, concurrency: int = 16,
               progress: Callable[[Target, bool], None] | None = None) -> list[Exported]:
    """Discover, declare, validate and write every target; results in `targets` order."""
    from sage365 import runner

    found = runner.run(discover_all(targets, options, concurrency=concurrency, progress=progress), freeze=True)
    environment = "sandbox" if options.graph_url else "production"
    claimed: dict[str, str] = {}
    results: list[Exported] = []
    for target, (discovery, seconds) in zip(targets, found):
        if isinstance(discovery, str):
            results.append(Exported(target.tenant_id, target.name, error=discovery, seconds=seconds))
            continue
        name = target.name or default_name(discovery)
        if name in claimed:
            results.append(Exported(target.tenant_id, name, discovery=discovery, seconds=seconds, error=(
                f"the name '{name}' is already that of tenant {claimed[name]} in this export: "
                f"give this one its own (`{target.tenant_id} NAME` in the list, or --name)")))
            continue
        claimed[name] = target.tenant_id
        declared = declare(discovery, options.catalog, name=name, environment=environment,
                           addin_group_names=dict(options.addin_group_names))
        results.append(Exported(target.tenant_id, name, (), None, discovery, declared, seconds))
    verdicts = checked_all([r.declared for r in results if r.declared is not None], options.catalog)
    out = []
    for result in results:
        if result.declared is None:
            out.append(result)
            continue
        stack, error = verdicts[result.name]
        error = error or write(result.declared, stack, result.discovery.tenant_id, options)
        files = () if error else (tenant_path(options.output, result.name), stack_path(options.output, result.name))
        out.append(dataclasses.replace(result, files=files, error=error))
    return out


def tenant_path(output: Path, name: str) -> Path:
    return output / "tenants" / f"{name}.yaml"


def stack_path(output: Path, name: str) -> Path:
    return output / "stacks" / f"Pulumi.{name}.yaml"


def checked(declared: Declared, catalog: Catalog) -> tuple[str, str | None]:
    """checked_all for one declaration."""
    return checked_all([declared], catalog)[declared.name]


def checked_all(declared: Sequence[Declared], catalog: Catalog) -> dict[str, tuple[str, str | None]]:
    """By name: (stack file text, None) when `sage365 validate`'s own code accepts the pair, run
    on private copies (all in one run: a fleet's validation costs one schema load); else
    ("", why). The stack file is sage365.stacks' (as `stacks sync` writes it)."""
    from sage365.declaration import DeclarationError, load_tenant
    from sage365.stacks import stack_file_text
    from sage365.validation import validate

    verdicts: dict[str, tuple[str, str | None]] = {}
    with tempfile.TemporaryDirectory(prefix="sage365-export-") as folder:
        root = Path(folder)
        (root / "tenants").mkdir()
        (root / "stacks").mkdir()
        files: dict[str, str] = {}  # a written file's path -> the declaration's name
        written: list[Path] = []
        for one in declared:
            path = tenant_path(root, one.name)
            path.write_text(one.tenant_yaml, encoding="utf-8")
            try:
                stack = stack_file_text(load_tenant(path))
            except DeclarationError as exc:
                verdicts[one.name] = ("", _bug("; ".join(p.message for p in exc.problems)))
                continue
            stack_path(root, one.name).write_text(stack, encoding="utf-8")
            files[str(path)] = files[str(stack_path(root, one.name))] = one.name
            written.append(path)
            verdicts[one.name] = (stack, None)
        result = validate(written, catalog, today=dt.date.today(), stacks_dir=root / "stacks")
    problems: dict[str, list[str]] = {}
    for problem in result.errors:
        problems.setdefault(files.get(problem.path, ""), []).append(problem.message)
    for name, messages in problems.items():
        if name in verdicts:
            verdicts[name] = ("", _bug("; ".join(messages)))
        else:  # a problem not attributable to one file: every declaration of the run is suspect
            verdicts = {n: ("", _bug("; ".join(messages))) for n in verdicts}
    return verdicts


def _bug(details: str) -> str:
    # Never the tenant's fault: say so, with validate's own words.
    return f"the exported declaration does not validate (a sage365 bug, please report it): {details}"


def _declared_tenant(path: Path) -> str | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return str(data["spec"]["tenantId"]).lower()
    except Exception:  # unreadable or not a declaration: treated as another tenant's
        return None


def write(declared: Declared, stack_text: str, tenant_id: str, options: Options) -> str | None:
    """Write both files; None when written, else why nothing was."""
    tenant_file, stack = tenant_path(options.output, declared.name), stack_path(options.output, declared.name)
    existing = [p for p in (tenant_file, stack) if p.exists()]
    if existing and not options.force:
        return f"{', '.join(map(str, existing))}: already exists (use --force to replace it)"
    if options.force and tenant_file.exists() and _declared_tenant(tenant_file) != tenant_id.lower():
        return f"{tenant_file}: declares another tenant; not replaced, even with --force"
    try:
        tenant_file.parent.mkdir(parents=True, exist_ok=True)
        stack.parent.mkdir(parents=True, exist_ok=True)
        # Without --force the names are taken with replace=False (a hard link): a file that
        # appeared since the check above is never replaced either.
        write_atomic(tenant_file, declared.tenant_yaml, replace=options.force)
        try:
            write_atomic(stack, stack_text, replace=options.force)
        except (FileExistsError, OutputError):
            if not options.force:
                tenant_file.unlink()  # created just above by this call: leave nothing half-done
            raise
    except FileExistsError as exc:
        return f"{exc.filename or tenant_file}: created by someone else meanwhile; nothing was written"
    except OutputError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot write {exc.filename or tenant_file}: {exc.strerror or exc}"
    return None
