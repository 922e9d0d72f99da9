"""Shared fixtures: fake credentials, a fixed region, and moto's in-process AWS."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from moto import mock_aws

import bluegreen.aws

REGION = "eu-central-1"
ACCOUNT_ID = "123456789012"  # moto's default account


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with fake credentials in eu-central-1 and never reaches a real endpoint."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setattr(bluegreen.aws, "_default_session", None)
    # Powertools' Logger(service="bluegreen") is the stdlib logger "bluegreen" and stops propagation once
    # a handler module is imported; let records reach the root logger (caplog) in every test.
    monkeypatch.setattr(logging.getLogger("bluegreen"), "propagate", True)


@pytest.fixture
def aws() -> Iterator[None]:
    """moto's in-process AWS for the duration of the test (every service, empty at the start)."""
    with mock_aws():
        yield
