"""What every tool shares: its config's common fields, its clients, and the account lookup."""

from __future__ import annotations

import threading
from typing import Any, Generic, TypeVar

import boto3

from bluegreen.aws import make_client, shared_client
from bluegreen.datatypes import datatype
from bluegreen.refs import StackReference, as_ref


@datatype(frozen=False, kw_only=True)
class AwsConfig:
    """Fields every tool config has: the region, and the account id (looked up with STS when None)."""

    region: str
    account_id: str | None = None


ConfigT = TypeVar("ConfigT", bound=AwsConfig)
T = TypeVar("T")


class BaseTools(Generic[ConfigT]):
    """Holds a tool's config and makes its boto3 clients once each, on first use, thread-safely."""

    def __init__(self, config: ConfigT, *, session: boto3.Session | None = None) -> None:
        """Keep ``config`` and the optional ``boto3.Session``; no client is made and no request sent yet."""
        self.config = config
        self.session = session
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._caller: dict[str, str] | None = None

    def _client(self, service: str, region: str | None = None) -> Any:
        """The client for ``service`` in ``region`` (the config's region by default), made once.

        Without an explicit session, every tool of the process shares one client per service and region
        (made under a lock, on first use): boto3 clients are thread-safe, and each client costs the
        loading of its service model. A tool given its own ``session`` makes its own clients.
        """
        key = (service, region or self.config.region)
        with self._lock:
            made = self._clients.get(key)
            if made is None:
                made = shared_client(service, key[1]) if self.session is None else None
                if made is None:
                    made = make_client(service, region=key[1], session=self.session)
                self._clients[key] = made
        return made

    def _caller_identity(self) -> dict[str, str]:
        if self._caller is None:
            self._caller = self._client("sts").get_caller_identity()
        return self._caller

    @property
    def account_id(self) -> str:
        """The account id: the config's, or the caller's account from STS ``GetCallerIdentity`` (asked once)."""
        return self.config.account_id or self._caller_identity()["Account"]

    @property
    def partition(self) -> str:
        """The AWS partition (``aws``, ``aws-cn``, ``aws-us-gov``…) of the caller, from STS (asked once)."""
        return self._caller_identity()["Arn"].split(":")[1]

    @staticmethod
    def _pick(ref: StackReference | str, a: T, b: T) -> T:
        """``a`` for stack a, ``b`` for stack b; anything but a/b raises ``ValueError``."""
        return a if as_ref(ref) is StackReference.A else b
