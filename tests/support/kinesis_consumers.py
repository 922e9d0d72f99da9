"""moto's Lambda CreateEventSourceMapping accepts a Kinesis stream ARN but not a stream *consumer* ARN
(enhanced fan-out), which AWS accepts. This lets it map a function to a registered consumer, as AWS does.
"""

from __future__ import annotations

from typing import Any

import pytest
from moto.awslambda.models import EventSourceMapping, LambdaBackend
from moto.kinesis.models import kinesis_backends


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    original = LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(self: LambdaBackend, spec: dict[str, Any]) -> EventSourceMapping:
        source = spec.get("EventSourceArn") or ""
        if ":kinesis:" in source and "/consumer/" in source:
            streams = kinesis_backends[self.account_id][self.region_name].streams.values()
            if any(c.consumer_arn == source for s in streams for c in s.consumers):
                func = self._lambdas.get_function_by_name_or_arn_with_qualifier(spec["FunctionName"])
                spec.update({"RegionName": self.region_name, "AccountId": self.account_id})
                spec["FunctionArn"] = func.function_arn
                esm = EventSourceMapping(spec)
                self._event_source_mappings[esm.uuid] = esm
                return esm
        return original(self, spec)

    monkeypatch.setattr(LambdaBackend, "create_event_source_mapping", create_event_source_mapping)
