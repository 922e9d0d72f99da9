"""The live-stack table: which stack (a or b) is live, the deployment in flight, a short history, hook reports.

One DynamoDB table (``BLUEGREEN_STATE_TABLE``), partition key ``application``; split by role:

* :mod:`~bluegreen.state.record` — the record of an application: :class:`Phase`, :class:`LiveRecord`,
  :class:`StateConflict`, :data:`HISTORY_LIMIT`, :data:`FINISH_FROM`, the table of transitions and the
  rules each write obeys, as pure functions (no AWS call);
* :mod:`~bluegreen.state.store` — :class:`StateStore`: the record's conditional DynamoDB writes
  (``begin``, ``flip``, ``finish`` …), each deciding by those rules;
* :mod:`~bluegreen.state.items` — the other items: hook reports (:func:`report_key`, :data:`REPORT_TTL`,
  the requests on them) and where the lease (:mod:`bluegreen.hooks.lease`) sits;
* :mod:`~bluegreen.state.table` — what every item shares: :data:`TABLE_ENV`, the client, key checks,
  refused conditions (``ALL_OLD``) and a missing table as ``LookupError``.

Import from here: ``from bluegreen.state import LiveRecord, StateStore``.
"""

from bluegreen.state.items import REPORT_TTL, report_key
from bluegreen.state.record import FINISH_FROM, HISTORY_LIMIT, LiveRecord, Phase, StateConflict
from bluegreen.state.store import StateStore
from bluegreen.state.table import TABLE_ENV

__all__ = [
    "FINISH_FROM",
    "HISTORY_LIMIT",
    "REPORT_TTL",
    "TABLE_ENV",
    "LiveRecord",
    "Phase",
    "StateConflict",
    "StateStore",
    "report_key",
]
