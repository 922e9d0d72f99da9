"""Reading a document's fields: typed values, every problem collected, AWS names and ARNs checked.

:mod:`~bluegreen.reading.fields` reads typed values and records each problem with its path;
:mod:`~bluegreen.reading.names` checks AWS names and ARNs. A leaf of the house: the plan's
top-level reader (:mod:`bluegreen.plan`) and each service's entry reader (:mod:`bluegreen.services`)
use it, and it imports neither.
"""
