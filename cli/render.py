"""What the CLI prints, as rich renderables: the fleet, one VM, a command's outcome."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

FUNNEL = (
    "opted_in", "preflight", "assessed", "agent_install", "awaiting_discovery", "queued", "enabling",
    "initial_replication", "protected", "test_migration", "test_validation", "test_cleanup",
    "ready_for_cutover", "stopping_source", "migrating", "committing", "completing", "done",
    "paused", "blocked", "failed", "opting_out", "opted_out",
)  # fmt: skip


def fleet(view: dict[str, Any]) -> RenderableType:
    phases = [p for p in FUNNEL if view["by_phase"].get(p)]
    waves = Table(title=f"Fleet: {view['total']} VMs", title_justify="left")
    waves.add_column("wave")
    for phase in phases:
        waves.add_column(phase.replace("_", " "), justify="right")
    waves.add_column("total", justify="right", style="bold")
    for wave, counts in view["by_wave"].items():
        waves.add_row(wave, *(str(counts.get(p, "")) for p in phases), str(sum(counts.values())))
    parts: list[RenderableType] = [waves]
    if view["waiting"]:
        waiting = ", ".join(f"{kind} {n}" for kind, n in view["waiting"].items())
        parts.append(Text(f"Waiting for: {waiting}"))
    if view["replicating"]:
        parts.append(_replicating(view["replicating"]))
    if view["attention"]:
        parts.append(_attention(view["attention"]))
    if view.get("warnings"):
        warned = Table(title="Replication warnings", title_justify="left")
        for column in ("VM", "wave", "warning", "what to look at"):
            warned.add_column(column, overflow="fold")
        for row in view["warnings"]:
            warning = row["warning"]
            warned.add_row(
                row["instanceId"], row["wave"], f"{warning['code']}: {warning['message']}", warning["fix"]
            )
        parts.append(warned)
    if view["awaiting_approval"]:
        approval = Table(title="Awaiting approval", title_justify="left")
        for column in ("VM", "wave", "since"):
            approval.add_column(column)
        for row in view["awaiting_approval"]:
            approval.add_row(row["instanceId"], row["wave"], (row["waiting"] or {}).get("since", ""))
        parts.append(approval)
    if view.get("truncated"):
        parts.append(Text("(lists cut at 500 VMs each; --wave narrows)", style="dim"))
    return Group(*parts)


def _replicating(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Initial replication", title_justify="left")
    for column in ("VM", "wave", "progress", "%", "health"):
        table.add_column(column)
    for row in rows:
        done = row["progress"] or 0
        table.add_row(
            row["instanceId"],
            row["wave"],
            ProgressBar(total=100, completed=done, width=30),
            f"{done}",
            row["health"],
        )
    return table


def _attention(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Needs a person", title_justify="left")
    for column in ("VM", "wave", "phase", "problem", "fix"):
        table.add_column(column, overflow="fold")
    for row in rows:
        problem = row["problem"]
        table.add_row(
            row["instanceId"],
            row["wave"],
            row["phase"],
            f"{problem['code']}: {problem['message']}",
            problem["fix"],
        )
    return table


def migration(answer: dict[str, Any]) -> RenderableType:
    record = answer["record"]
    facts = Table.grid(padding=(0, 2))
    facts.add_row("VM", record["instance_id"])
    facts.add_row("wave", record.get("wave") or "(no wave)")
    facts.add_row("phase", record["phase"])
    waiting = record.get("waiting_for")
    if waiting:
        until = f" (until {waiting['until']})" if waiting.get("until") else ""
        facts.add_row(
            "waiting for", f"{waiting['kind']}: {waiting['message']}{until}, since {waiting['since']}"
        )
    health = record.get("replication")
    if health:
        rpo = f", RPO {health['rpo_seconds']} s" if health.get("rpo_seconds") is not None else ""
        facts.add_row(
            "replication", f"{health.get('progress_percent') or 0}% {health.get('health', '')}{rpo}"
        )
        for issue in health.get("issues") or []:
            facts.add_row("", f"{issue['code']}: {issue['message']} (fix: {issue['fix']})")
    error = record.get("last_error")
    if error:
        facts.add_row("last error", f"{error['code']}: {error['message']}")
    marks = {True: "passed", False: "FAILED", None: "pending"}
    for n, check in enumerate(record.get("test_checks") or []):
        said = f"{check['name']} {marks[check.get('passed')]}: {check.get('detail', '')}"
        facts.add_row("test VM" if n == 0 else "", said)
    timeline = Table(title="Timeline", title_justify="left")
    for column in ("at", "event", "from", "to", "actor", "reason"):
        timeline.add_column(column, overflow="fold")
    for entry in answer["timeline"]:
        timeline.add_row(
            entry["at"], entry["event"], entry.get("from_phase") or "", entry.get("to_phase") or "",
            entry["actor"], entry.get("reason") or "",
        )  # fmt: skip
    return Group(facts, timeline)


def outcome(answer: dict[str, Any]) -> RenderableType:
    """A command's answer: one VM's new phase, or each VM of a wave."""
    if "results" not in answer:
        changed = "done" if answer["changed"] else "nothing to change"
        return Text(f"{answer['command']} {answer['instanceId']}: {changed}; now {answer['phase']}")
    table = Table(
        title=f"{answer['command']} wave {answer['wave']}: {answer['changed']} changed", title_justify="left"
    )
    for column in ("VM", "status", "phase or reason"):
        table.add_column(column, overflow="fold")
    for row in answer["results"]:
        said = row.get("phase") or row.get("error", {}).get("message", "")
        table.add_row(row["instanceId"], str(row["status"]), said)
    return table
