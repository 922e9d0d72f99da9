"""Reading a YAML plan: PyYAML's safe loader, refusing a key repeated in one mapping.

Imported by :func:`bluegreen.plan.load.load_plan_text` only for a plan that is not JSON, so that a
function whose plan is JSON never imports PyYAML. Only the pure-Python ``SafeLoader`` is used (the
layer ships no compiled extension).
"""

from __future__ import annotations

from typing import Any

import yaml

#: What :func:`read_yaml` answers for a document nested deeper than the parser can follow.
TOO_DEEP = "nested too deeply to read (a plan is a few levels deep)"


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key repeated in one mapping (YAML would keep the last silently)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.setdefault(key, key_node.start_mark.line + 1)
        except TypeError:
            continue  # an unhashable key: construct_mapping reports it
        if first != key_node.start_mark.line + 1:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {first})", key_node.start_mark
            )
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _yaml_problem(err: yaml.YAMLError) -> str:
    if isinstance(err, yaml.MarkedYAMLError) and err.problem_mark is not None:
        mark = err.problem_mark
        context = f" ({err.context})" if err.context else ""
        return f"line {mark.line + 1}, column {mark.column + 1}: {err.problem}{context}"
    return str(err)


def read_yaml(text: str) -> tuple[str | None, Any]:
    """``(None, document)`` for valid YAML, else ``(problem, None)``: the line and column, or why it cannot be read."""
    try:
        return None, yaml.load(text, Loader=_Loader)  # a SafeLoader: builds plain data only
    except yaml.YAMLError as err:
        return _yaml_problem(err), None
    except RecursionError:
        return TOO_DEEP, None
    except ValueError as err:  # a number of more digits than Python converts (4300)
        return str(err), None
