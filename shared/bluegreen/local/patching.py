"""One patch over moto: a class, an attribute, the replacement (:class:`Patch`).

The patch makers (:mod:`bluegreen.local.codedeploy_api`, :mod:`bluegreen.local.lambda_patches`, the
``Shim`` of :mod:`bluegreen.local.shim`) return them as data, so the shim can install them in the
process and a ``mock_aws`` test can apply them with pytest's ``monkeypatch``.
"""

from __future__ import annotations

from typing import Any

from bluegreen.datatypes import datatype

__all__ = ["Patch"]


@datatype
class Patch:
    """Set ``owner.name`` to ``value`` (``owner`` is a moto class)."""

    owner: type
    name: str
    value: Any
