"""``@datatype``: the house's dataclasses, with shared methods instead of generated ones.

Every class of the package that holds data — a plan entry, a step, the live-stack record, a tool's
config — is a dataclass. Python's ``@dataclass`` writes each class its own ``__init__``,
``__repr__``, ``__eq__``, ``__hash__`` and (frozen) ``__setattr__``/``__delattr__`` as source text
and compiles it while the module is imported: about 0.5 ms a class on Python 3.13, 0.6 ms for the
classes of this package, which made the dataclasses more than half of what a hook's import costs
beyond ``import boto3`` (a Lambda cold start pays it each time; see docs/performance.md).

``@datatype`` makes the same dataclass — ``dataclasses.fields``, ``replace``, ``asdict``,
``is_dataclass`` and ``copy.replace`` work, ``field(default_factory=..., repr=False,
compare=False)`` is honoured, and type checkers read it as a dataclass (PEP 681) — but asks
``dataclasses`` for none of those methods. The class gets shared ones instead, which read the
class's fields when called: creating a class costs about a seventh, creating an instance a few
microseconds more. They behave as the generated ones do — the same ``repr``, equality between
instances of the same class only, a hash over the compared fields when frozen (unhashable when not),
``FrozenInstanceError`` on assignment to a frozen instance, ``TypeError`` for a missing, unknown
or repeated argument, ``__post_init__`` called last — and a method the class defines itself wins.
``tests/unit/test_datatypes.py`` holds them against ``@dataclass`` on generated classes.

Frozen by default: ``@datatype``, ``@datatype(kw_only=True)``, ``@datatype(frozen=False)``. Not supported
(refused when the class is made): ``InitVar`` and fields with ``init=False``.
"""

from __future__ import annotations

import dataclasses
import reprlib
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

__all__ = ["datatype"]

C = TypeVar("C", bound=type)

_MISSING: Any = dataclasses.MISSING


class _Spec:
    """What the shared methods need of one class, worked out once when the class is made."""

    __slots__ = ("compare", "defaults", "name", "names", "positional", "post_init", "reprs")

    def __init__(self, cls: Any) -> None:
        fields = dataclasses.fields(cls)
        for f in cls.__dataclass_fields__.values():  # with the ClassVar and InitVar pseudo-fields
            if not f.init or isinstance(f.type, dataclasses.InitVar) or "InitVar[" in str(f.type):
                where = f"@datatype class {cls.__qualname__}, field {f.name!r}"
                raise TypeError(f"{where}: InitVar and init=False are not supported")
        self.name = cls.__qualname__
        self.names = tuple(f.name for f in fields)
        self.positional = tuple(f.name for f in fields if not f.kw_only)
        #: name -> (default, default factory), MISSING where there is none.
        self.defaults: dict[str, tuple[Any, Any]] = {f.name: (f.default, f.default_factory) for f in fields}
        self.reprs = tuple(f.name for f in fields if f.repr)
        self.compare = tuple(f.name for f in fields if f.compare)
        self.post_init = hasattr(cls, "__post_init__")


def _spec(self: object) -> _Spec:
    spec: _Spec = type(self).__datatype_spec__  # type: ignore[attr-defined]
    return spec


def _init(self: object, *args: Any, **kwargs: Any) -> None:
    spec = _spec(self)
    if len(args) > len(spec.positional):
        raise TypeError(
            f"{spec.name}.__init__() takes {len(spec.positional) + 1} positional arguments "
            f"but {len(args) + 1} were given"
        )
    values = dict(zip(spec.positional, args, strict=False))
    for name, given in kwargs.items():
        if name in values:
            raise TypeError(f"{spec.name}.__init__() got multiple values for argument {name!r}")
        if name not in spec.defaults:
            raise TypeError(f"{spec.name}.__init__() got an unexpected keyword argument {name!r}")
        values[name] = given
    missing = [
        name for name in spec.names
        if name not in values and spec.defaults[name][0] is _MISSING and spec.defaults[name][1] is _MISSING
    ]  # fmt: skip
    if missing:
        listed = ", ".join(repr(name) for name in missing)
        raise TypeError(f"{spec.name}.__init__() missing {len(missing)} required argument(s): {listed}")
    for name in spec.names:
        if name in values:
            given = values[name]
        else:
            default, factory = spec.defaults[name]
            given = default if default is not _MISSING else factory()
        object.__setattr__(self, name, given)
    if spec.post_init:
        self.__post_init__()  # type: ignore[attr-defined]


@reprlib.recursive_repr()
def _repr(self: object) -> str:
    spec = _spec(self)
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in spec.reprs)
    return f"{type(self).__qualname__}({shown})"


def _eq(self: object, other: object) -> Any:  # bool, or NotImplemented for another class
    if self is other:
        return True
    if other.__class__ is not self.__class__:
        return NotImplemented
    names = _spec(self).compare
    return tuple(getattr(self, name) for name in names) == tuple(getattr(other, name) for name in names)


def _hash(self: object) -> int:
    return hash(tuple(getattr(self, name) for name in _spec(self).compare))


def _setattr(self: object, name: str, _: object) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _delattr(self: object, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _make(cls: C, frozen: bool, kw_only: bool) -> C:
    # A class that defines __eq__ alone gets __hash__ = None from Python, which is not a hash of its own.
    own_hash = cls.__dict__.get("__hash__", _MISSING)
    explicit_hash = not (own_hash is _MISSING or (own_hash is None and "__eq__" in cls.__dict__))
    made: Any = dataclasses.dataclass(cls, init=False, repr=False, eq=False, kw_only=kw_only)
    made.__datatype_spec__ = _Spec(made)
    methods: dict[str, Any] = {"__init__": _init, "__repr__": _repr, "__eq__": _eq}
    if frozen:
        methods |= {"__setattr__": _setattr, "__delattr__": _delattr}
    for name, method in methods.items():
        if name not in made.__dict__:
            setattr(made, name, method)
    if not explicit_hash:
        # Equal by value: hashed by value when frozen, unhashable when not (as @dataclass does).
        made.__hash__ = _hash if frozen else None
    made_class: C = made  # the same class object, now a dataclass
    return made_class


@overload
def datatype(cls: C, /) -> C: ...


@overload
def datatype(*, frozen: bool = True, kw_only: bool = False) -> Callable[[C], C]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def datatype(cls: C | None = None, /, *, frozen: bool = True, kw_only: bool = False) -> C | Callable[[C], C]:
    """Make ``cls`` a dataclass with shared methods: frozen unless ``frozen=False``; ``kw_only`` as ``@dataclass``'s."""
    if cls is None:
        return lambda klass: _make(klass, frozen, kw_only)
    return _make(cls, frozen, kw_only)
