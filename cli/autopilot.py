"""`autopilot`: the fleet, one VM, live watching, the operator commands and exports, over the HTTP
API. The URL and keys come from flags or the environment (AUTOPILOT_URL, AUTOPILOT_READER_KEY,
AUTOPILOT_OPERATOR_KEY), so the same command works against Azure and against the local host."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live

from cli import render
from cli.api import Api, ApiError

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


def console() -> Console:
    """Made per command, so the terminal's width (or COLUMNS) is read when the command runs."""
    return Console()


def err() -> Console:
    return Console(stderr=True)


COMMANDS = ("approve", "pause", "resume", "retry", "cancel", "rollback")
WAVE_COMMANDS = ("approve", "pause", "resume", "cancel")

Url = Annotated[
    str, typer.Option(envvar="AUTOPILOT_URL", help="The app's base URL, e.g. https://APP.azurewebsites.net")
]
ReaderKey = Annotated[str, typer.Option("--key", envvar="AUTOPILOT_READER_KEY", help="The reader key.")]
OperatorKey = Annotated[
    str, typer.Option("--operator-key", envvar="AUTOPILOT_OPERATOR_KEY", help="The operator key.")
]
WaveOption = Annotated[str | None, typer.Option("--wave", help="One wave only.")]


@app.command()
def fleet(url: Url, key: ReaderKey = "", wave: WaveOption = None) -> None:
    """The fleet by wave and phase, replication progress, who needs a person, what awaits approval."""
    with _errors():
        console().print(render.fleet(Api(url, reader_key=key).fleet(wave)))


@app.command()
def show(instance_id: str, url: Url, key: ReaderKey = "") -> None:
    """One VM: its record, what it waits for, its replication and its timeline."""
    with _errors():
        console().print(render.migration(Api(url, reader_key=key).migration(instance_id)))


@app.command()
def watch(
    url: Url,
    key: ReaderKey = "",
    wave: WaveOption = None,
    interval: Annotated[float, typer.Option(min=1, help="Seconds between refreshes.")] = 10,
    times: Annotated[int, typer.Option(min=0, help="Stop after this many refreshes (0: until Ctrl-C).")] = 0,
) -> None:
    """The fleet view, refreshed until Ctrl-C."""
    api = Api(url, reader_key=key)
    with _errors(), Live(render.fleet(api.fleet(wave)), console=console(), auto_refresh=False) as live:
        shown = 1
        while not times or shown < times:
            time.sleep(interval)  # the operator's refresh interval
            live.update(render.fleet(api.fleet(wave)), refresh=True)
            shown += 1


@app.command()
def export(
    url: Url,
    key: ReaderKey = "",
    wave: WaveOption = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or json")] = "csv",
    output: Annotated[Path | None, typer.Option(help="Write here instead of standard output.")] = None,
) -> None:
    """The assessments (checks, sizes, blockers and fixes) as CSV or JSON."""
    with _errors():
        text = Api(url, reader_key=key).export(wave, fmt)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        err().print(f"wrote {output}")


def _command(name: str) -> None:
    def run(
        url: Url,
        instance_id: Annotated[str | None, typer.Argument(help="The EC2 instance id.")] = None,
        operator_key: OperatorKey = "",
        wave: WaveOption = None,
        reason: Annotated[str, typer.Option(help="Kept in the timeline, e.g. a change number.")] = "",
    ) -> None:
        if (instance_id is None) == (wave is None):
            raise typer.BadParameter("give an instance id or --wave, not both")
        if wave is not None and name not in WAVE_COMMANDS:
            raise typer.BadParameter(f"{name} works on one VM; a wave takes {', '.join(WAVE_COMMANDS)}")
        with _errors():
            answer = Api(url, operator_key=operator_key).command(name, instance_id, wave, reason)
        console().print(render.outcome(answer))

    wave_too = ", or every VM of --wave" if name in WAVE_COMMANDS else ""
    run.__doc__ = f"{name.capitalize()} one VM{wave_too} (the operator key); --reason goes in the timeline."
    app.command(name)(run)


for _name in COMMANDS:
    _command(_name)


@contextmanager
def _errors() -> Iterator[None]:
    """The API's refusals printed plainly, exit 1; an unreachable API, exit 2."""
    try:
        yield
    except ApiError as error:
        err().print(f"[red]{error}[/red]")
        raise typer.Exit(1 if error.status else 2) from None


def main() -> None:
    app()
