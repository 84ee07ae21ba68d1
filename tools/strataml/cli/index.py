"""`strata index` (also `python tools/index.py`) and `strata serve`: the catalogue and its site (TFC-0007)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from strataml.atomic import check_output, open_atomic
from strataml.cli.options import ForceOption, examples
from strataml.errors import UsageError
from strataml.workspace import find_root

INDEX_EXAMPLES = examples(
    "strata index --output index.json",
    "strata index --site out/site --federate team-b=https://ml.example.org/b/index.json",
)
SERVE_EXAMPLES = examples("strata serve --dir out/site --port 8000")


def index(
    output: Annotated[
        Path | None,
        typer.Option("--output", metavar="FILE", help="Write index.json here (default: stdout)."),
    ] = None,
    site: Annotated[
        Path | None,
        typer.Option("--site", metavar="DIR", help="Build the static dashboard into DIR."),
    ] = None,
    doctor_report: Annotated[
        Path | None,
        typer.Option(
            "--doctor-report",
            metavar="FILE",
            help="Show findings of `strata doctor --format json`.",
        ),
    ] = None,
    federate: Annotated[
        list[str] | None,
        typer.Option(
            "--federate",
            metavar="NAME=URL",
            help="With --site: show this other site's index.json beside this one (repeatable).",
        ),
    ] = None,
    force: ForceOption = False,
) -> None:
    """Catalogue every dataset, model, run and lineage edge; optionally build the site (TFC-0007)."""
    from strataml.index import catalogue, encoding, federation
    from strataml.index import site as site_builder

    sources = federation.parse_sources(federate or [])
    if sources and site is None:
        raise UsageError(f"--federate goes with --site DIR ({federation.HINT})")
    root = find_root(Path())
    if output is not None:
        check_output(output, overwrite=force)  # before the site is built: a refusal changes nothing
    document = catalogue.build_index(root)
    encoded = encoding.encode(document)  # once, for the site, the file and stdout alike
    encoding.release_histories(document)
    doctor = site_builder.load_doctor_report(doctor_report) if doctor_report else None
    if site is not None:
        count = site_builder.build_site(root, document, encoded, site, doctor, sources)
        typer.echo(f"{site}/: {count} files; open {site}/index.html", err=True)
    if output is not None:
        with open_atomic(output, overwrite=force) as handle:
            encoded.write(handle)
    elif site is None:
        typer.echo(encoded.text, nl=False)


def serve(
    directory: Annotated[Path, typer.Option("--dir", metavar="DIR", help="The built site.")] = Path(
        "site"
    ),
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Loopback port (0: any free one).")
    ] = 8000,
) -> None:
    """Serve the built site on 127.0.0.1 (the site also works opened from disk)."""
    import functools
    import http.server

    from strataml.index.serving import SiteHandler

    if not (directory / "index.html").is_file():
        raise UsageError(
            f"{directory}/index.html not found; build it with `python tools/index.py --site {directory}`"
        )
    handler = functools.partial(SiteHandler, directory=str(directory))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        typer.echo(
            f"serving {directory}/ on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)",
            err=True,
        )
        server.serve_forever()
