from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bluegreen import ClusterState, StackReference


def test_values_and_partner() -> None:
    assert StackReference.A.value == "a"
    assert StackReference.B.value == "b"
    assert StackReference.A.partner is StackReference.B
    assert StackReference.B.partner is StackReference.A


def test_case_insensitive() -> None:
    assert StackReference("A") is StackReference.A
    assert StackReference("b") is StackReference.B


@given(st.text().filter(lambda s: s.lower() not in ("a", "b")))
def test_anything_else_is_an_error(value: str) -> None:
    with pytest.raises(ValueError, match="invalid stack reference"):
        StackReference(value)


def test_cluster_state_known_values() -> None:
    assert ClusterState("available") is ClusterState.AVAILABLE
    assert ClusterState.STARTING == "starting"
    assert ClusterState.STOPPED == "stopped"
    assert ClusterState.STOPPING == "stopping"
    assert ClusterState("backing-up") is ClusterState.BACKING_UP
    assert ClusterState.AVAILABLE.is_ready
    assert not ClusterState.MODIFYING.is_ready


def test_cluster_state_unknown_is_logged_and_not_ready(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        state = ClusterState("teleporting")
    assert state is ClusterState.UNKNOWN
    assert not state.is_ready
    assert "teleporting" in caplog.text
