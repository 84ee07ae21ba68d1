"""The catalogue's aggregates (TFC-0007 R2): per experiment, its succeeded runs grouped by every
parameter but the seeds, and per group the spread of each final metric (TFC-0003 R18)."""

from __future__ import annotations

from typing import Any

from strataml.registry.groups import Member, group_members, grouping


def catalogue_aggregates(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """From the catalogue's run entries (no run is read again): one entry per experiment with a
    succeeded run, by name; histories are left to `strata runs aggregate`."""
    members: dict[str, list[Member]] = {}
    for run in runs:
        if run["status"] == "succeeded" and isinstance(run["experiment"], str):
            params = run["params"] if isinstance(run["params"], dict) else {}
            members.setdefault(run["experiment"], []).append(
                Member.of(run["id"], params, run["metrics"], {})
            )
    found = []
    for experiment, runs_of in sorted(members.items()):
        by, over = grouping(runs_of, (), ())
        groups = [
            {k: v for k, v in group.document().items() if k != "histories"}
            for group in group_members(runs_of, by, over)
        ]
        found.append({"experiment": experiment, "group_by": list(by), "over": list(over),
                      "groups": groups})  # fmt: skip
    return found
