"""``bluegreen logs``: the log lines of one deployment, from the CloudWatch Logs of the install's functions.

The install names its functions' log groups after the stack (``template.yaml``):
``/aws/lambda/CodeDeployHook_<stack>_prepare``, ``…_retire``, ``…_verdict`` (the ECS test-traffic hook)
and ``/aws/lambda/<stack>-deployment-events``.
Every line the hooks write is Powertools JSON carrying the ``deployment_id`` the handler appended, so
one ``FilterLogEvents`` per group with the JSON filter ``{ $.deployment_id = "<id>" }`` finds them
(every page). The filter is applied again here, on the parsed line: a server that does not know
JSON filters (the emulator) may return more. A group that does not exist yet (a function never
invoked) is reported, not an error. Only ``logs:FilterLogEvents`` is called.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bluegreen.aws import error_code
from bluegreen.datatypes import datatype

#: The install's log groups whose lines carry a deployment id, by what writes them.
LOG_GROUPS = {
    "prepare": "/aws/lambda/CodeDeployHook_{stack}_prepare",
    "retire": "/aws/lambda/CodeDeployHook_{stack}_retire",
    "verdict": "/aws/lambda/CodeDeployHook_{stack}_verdict",
    "events": "/aws/lambda/{stack}-deployment-events",
}


@datatype
class LogLine:
    """One log event of a deployment: when, which function wrote it, and the line (parsed JSON)."""

    timestamp_ms: int
    source: str
    group: str
    stream: str
    line: dict[str, Any]

    @property
    def at(self) -> str:
        """The event's time, ISO-8601 UTC to the millisecond."""
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC).isoformat(timespec="milliseconds")

    def text(self) -> str:
        """One line for a terminal: time, source, level, message, and the step or flow when the line has one."""
        level = str(self.line.get("level", "")).upper()
        message = str(self.line.get("message", ""))
        flow = self.line.get("flow")
        where = f" [{flow}]" if flow and flow != self.source else ""
        return f"{self.at} {self.source}{where} {level} {message}"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (``bluegreen logs --output json`` prints one per line)."""
        return {"at": self.at, "source": self.source, "group": self.group, "stream": self.stream, "line": self.line}


@datatype(frozen=False)
class DeploymentLogs:
    """What :func:`deployment_logs` found: the lines in time order, and the groups that do not exist."""

    lines: list[LogLine]
    missing_groups: list[str]


def _parsed(message: str) -> dict[str, Any] | None:
    try:
        found = json.loads(message)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def deployment_logs(
    client: Any,
    stack: str,
    deployment_id: str,
    *,
    start_ms: int | None = None,
    sources: Iterable[str] = tuple(LOG_GROUPS),
) -> DeploymentLogs:
    """Every log line of ``deployment_id`` in the install ``stack``'s log groups, oldest first.

    ``client`` is a CloudWatch Logs client; ``start_ms`` (epoch milliseconds) skips older events.
    """
    pattern = '{ $.deployment_id = "' + deployment_id.replace('"', "") + '" }'
    lines: list[LogLine] = []
    missing: list[str] = []
    for source in sources:
        group = LOG_GROUPS[source].format(stack=stack)
        params: dict[str, Any] = {"logGroupName": group, "filterPattern": pattern}
        if start_ms is not None:
            params["startTime"] = start_ms
        try:
            for page in client.get_paginator("filter_log_events").paginate(**params):
                for event in page.get("events", []):
                    line = _parsed(str(event.get("message", "")))
                    if line is None or line.get("deployment_id") != deployment_id:
                        continue
                    stamp = int(event.get("timestamp", 0))
                    lines.append(LogLine(stamp, source, group, str(event.get("logStreamName", "")), line))
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            missing.append(group)
    lines.sort(key=lambda found: found.timestamp_ms)
    return DeploymentLogs(lines, missing)
