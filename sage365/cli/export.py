"""`sage365 export`: declare tenants associated by hand, and save replayable snapshots.

Usage errors (a bad id, name or list line, a catalogue that cannot be used) exit 2 before
any tenant is read. Then each tenant is one line: what was written (stdout) or why not
(stderr). Exit 0 when every tenant was exported, 2 when any was not.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Callable, Optional

import typer

from sage365.catalog import DEFAULT_CATALOG, Catalog
from sage365.cli.options import catalog_option, graph_url_option, output_option
from sage365.files import OutputError, write_atomic
from sage365.text import visible
from sage365.yamlsafe import Problem

GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
SLUG = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
WORD = re.compile(r"\S+")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"sage365 export: {message}", err=True)
    return typer.Exit(2)


def target_problems(text: str, source: str) -> tuple[list[tuple[str, str | None]], list[Problem]]:
    """`TENANT_ID [NAME]` per line; blank lines and `#` comments ignored. Returns the targets
    and every bad line's problem (`source:LINE:COL`, the column of the offending word)."""
    targets: list[tuple[str, str | None]] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        words = [(m.group(), m.start() + 1) for m in WORD.finditer(line.split("#", 1)[0])]
        if not words:
            continue
        (first, first_col), *rest = words
        tenant_id = first.lower()
        if not GUID.fullmatch(first):
            column, message = first_col, f"{first!r} is not a tenant id (a GUID); expected 'TENANT_ID [NAME]'"
        elif len(rest) > 1:
            column, message = rest[1][1], f"unexpected {rest[1][0]!r} after the name; expected 'TENANT_ID [NAME]'"
        elif rest and not SLUG.fullmatch(rest[0][0]):
            column, message = rest[0][1], f"{rest[0][0]!r} is not a name (lower-case letters, digits and dashes, at most 63)"
        elif tenant_id in seen:
            column, message = first_col, f"tenant {tenant_id} is already listed on line {seen[tenant_id]}"
        else:
            seen[tenant_id] = number
            targets.append((tenant_id, rest[0][0] if rest else None))
            continue
        problems.append(Problem(source, number, column, message))
    if not targets and not problems:
        problems.append(Problem(source, 1, 1, "no tenant ids; expected 'TENANT_ID [NAME]' lines"))
    return targets, problems


def parse_targets(text: str, source: str) -> list[tuple[str, str | None]]:
    """target_problems' targets; every problem is one line on stderr, then exit 2 (nothing read)."""
    targets, problems = target_problems(text, source)
    if problems:
        for problem in problems:
            typer.echo(str(problem), err=True)
        raise _fail(f"{visible(source)}: {len(problems)} problem(s): nothing was read")
    return targets


def _read_list(value: str) -> tuple[str, str]:
    if value == "-":
        data, source = sys.stdin.buffer.read(), "<stdin>"
    else:
        try:
            data, source = Path(value).read_bytes(), value
        except OSError as exc:
            raise _fail(f"{visible(value)}: cannot read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8"), source
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[line_start:exc.start].decode("utf-8", "replace")) + 1
        typer.echo(str(Problem(source, data.count(b"\n", 0, exc.start) + 1, column,
                               f"not UTF-8 text (byte 0x{data[exc.start]:02x})")), err=True)
        raise _fail(f"{visible(source)}: 1 problem: nothing was read") from None


def addin_groups(values: list[str], catalog: Catalog) -> dict[str, str]:
    """--addin-group NAME (the catalogue's only add-in) or APP=NAME, by catalogue key."""
    addins = sorted(k for k, a in catalog.apps.items() if a.addin is not None)
    out: dict[str, str] = {}
    for value in values:
        key, sep, name = value.partition("=")
        if not (sep and key in addins):
            if len(addins) != 1:
                raise _fail(f"--addin-group {value!r}: the catalogue has {len(addins)} add-ins ({', '.join(addins)}): "
                            "write APP=NAME")
            key, name = addins[0], value
        if not name.strip():
            raise _fail(f"--addin-group {value!r}: empty group name")
        if key in out:
            raise _fail(f"--addin-group: two names for {key}")
        out[key] = name
    return out


def _progress(count: int, run: Callable[[Callable | None], list]) -> list:
    """A progress bar on stderr when it is a terminal and there is more than one tenant."""
    if count < 2 or not sys.stderr.isatty():
        return run(None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("exporting tenants"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("tenants", total=count)
        return run(lambda target, ok: bar.advance(task))


def export(
    tenant_id: Optional[str] = typer.Option(None, "--tenant-id", help="The tenant (directory) id to export."),
    tenant_ids: Optional[str] = typer.Option(None, "--tenant-ids", help="A file of 'TENANT_ID [NAME]' lines, or - for stdin."),
    name: Optional[str] = typer.Option(None, "--name", help="File and stack name (slug) for --tenant-id.  [default: from the organization's name]", show_default=False),
    graph_url: Optional[str] = typer.Option(
        None, "--graph-url", envvar="SAGE365_GRAPH_URL",
        help="Microsoft Graph base URL override, e.g. the sandbox's http://127.0.0.1:PORT/v1.0 (sandbox tokens).",
    ),
    catalog: Path = typer.Option(DEFAULT_CATALOG, "--catalog", help="The catalogue of Sage apps."),
    output: Path = typer.Option(Path("."), "--output", help="Folder under which tenants/ and stacks/ are written."),
    force: bool = typer.Option(False, "--force", help="Replace an earlier export of the same tenant."),
    addin_group: list[str] = typer.Option([], "--addin-group", help="The add-in's group name (APP=NAME with several add-ins) instead of the catalogue's naming convention; repeatable."),
    snapshot: Optional[Path] = typer.Option(None, "--snapshot", help="Also save every Graph object read as a sandbox state file (replay: sage365 sandbox serve --state FILE)."),
    redact_names: bool = typer.Option(False, "--redact", help="In the snapshot, replace people's names, UPNs, mail addresses and display names with stable pseudonyms."),
    concurrency: int = typer.Option(16, "--concurrency", min=1, max=256, help="Tenants read at the same time."),
    tenant_timeout: float = typer.Option(120.0, "--tenant-timeout", min=0.1, max=3600,
                                         help="Seconds one tenant's whole read may take; past it, that tenant fails."),
) -> None:
    """Write tenants/<name>.yaml and stacks/Pulumi.<name>.yaml for what live tenants hold now. Exit 0 all exported, 2 any failed."""
    if (tenant_id is None) == (tenant_ids is None):
        raise _fail("give exactly one of --tenant-id ID or --tenant-ids FILE")
    if redact_names and snapshot is None:
        raise _fail("--redact applies to --snapshot FILE: give both")
    if tenant_id is not None:
        if not GUID.fullmatch(tenant_id):
            raise _fail(f"--tenant-id {tenant_id!r} is not a tenant id (a GUID)")
        if name is not None and not SLUG.fullmatch(name):
            raise _fail(f"--name {name!r}: lower-case letters, digits and dashes, at most 63")
        targets = [(tenant_id.lower(), name)]
    else:
        if name is not None:
            raise _fail("--name applies to --tenant-id; in a list, write 'TENANT_ID NAME'")
        targets = parse_targets(*_read_list(tenant_ids))
    if output.exists() and not output.is_dir():
        raise _fail(f"--output {output}: not a folder")
    graph_url = graph_url_option("export", graph_url)
    if snapshot is not None:
        output_option("export", "--snapshot", snapshot)
    loaded = catalog_option("export", catalog)

    from sage365.onboarding import export as engine

    options = engine.Options(catalog=loaded, output=output, graph_url=graph_url, force=force,
                             addin_group_names=addin_groups(addin_group, loaded), tenant_timeout=tenant_timeout)
    wanted = [engine.Target(tid, slug) for tid, slug in targets]
    results = _progress(len(wanted), lambda progress: engine.export_all(wanted, options, concurrency=concurrency,
                                                                        progress=progress))
    failed = 0
    for result in results:
        if result.ok:
            review = sorted(result.declared.expected_findings) if result.declared else []
            note = f" (comments name: {', '.join(review)})" if review else ""
            typer.echo(f"{result.name}: wrote {', '.join(map(str, result.files))}{note}")
        else:
            failed += 1
            typer.echo(f"sage365 export: {result.tenant_id}: {result.error}", err=True)
    if snapshot is not None:
        prefixes = [a.addin.group_prefix for a in loaded.apps.values() if a.addin is not None]
        _save_snapshot(snapshot, results, redact_names, prefixes)
    if failed:
        typer.echo(f"sage365 export: {failed} of {len(results)} tenant(s) not exported", err=True)
        raise typer.Exit(2)


def _save_snapshot(path: Path, results: list, redact_names: bool, prefixes: list[str]) -> None:
    from sage365.onboarding.state import state_text

    discoveries = [r.discovery for r in results if r.discovery is not None]
    if not discoveries:
        typer.echo("sage365 export: no tenant was read: no snapshot written", err=True)
        return
    try:
        write_atomic(path, state_text(discoveries, redacted=redact_names, json_format=path.suffix == ".json",
                                     group_prefixes=prefixes))
    except OutputError as exc:
        raise _fail(str(exc)) from None
    kind = "redacted snapshot" if redact_names else "snapshot"
    typer.echo(f"{kind} of {len(discoveries)} tenant(s): {path}")
