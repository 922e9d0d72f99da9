"""``@datatype`` behaves as ``@dataclass`` does, class for class, call for call.

Each case makes the same class twice from one description — once with ``@dataclass``, once with
``@datatype`` — and holds every observable behaviour of the two side by side: construction from any
mix of positional and keyword arguments (or the ``TypeError`` when they do not fit), ``repr``,
equality, hashing, assignment to a frozen instance, ``dataclasses.replace``, ``asdict`` and
``fields``. The property test draws the descriptions; the others pin the cases it may miss.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluegreen.datatypes import datatype

#: One field: (has a default, has a factory, shown in repr, compared, keyword-only).
FieldSpec = tuple[bool, bool, bool, bool, bool]


def _make_pair(specs: list[FieldSpec], frozen: bool, kw_only: bool) -> tuple[type, type]:
    """The class the description names, made by ``@dataclass`` and by ``@datatype``."""

    def build(decorate: Any) -> type:
        namespace: dict[str, Any] = {"__annotations__": {}, "__doc__": "A drawn class.", "__module__": __name__}
        for n, (default, factory, shown, compared, own_kw_only) in enumerate(specs):
            name = f"f{n}"
            namespace["__annotations__"][name] = "object"
            options: dict[str, Any] = {"repr": shown, "compare": compared, "kw_only": own_kw_only or kw_only}
            if factory:
                options["default_factory"] = lambda n=n: [n]
            elif default:
                options["default"] = n * 10
            namespace[name] = dataclasses.field(**options)
        klass = type("Drawn", (), namespace)
        klass.__qualname__ = "Drawn"
        return decorate(klass)  # type: ignore[no-any-return]

    stdlib = build(dataclasses.dataclass(frozen=frozen))
    ours = build(datatype(frozen=frozen))
    return stdlib, ours


def _outcome(call: Any) -> tuple[str, Any]:
    try:
        return "ok", call()
    except TypeError as error:
        return "TypeError", type(error)


def _fields_in_order(specs: list[FieldSpec], kw_only: bool) -> bool:
    """``@dataclass`` refuses a required positional field after one with a default: skip those."""
    seen_default = False
    for default, factory, _, _, own_kw_only in specs:
        if own_kw_only or kw_only:
            continue
        if default or factory:
            seen_default = True
        elif seen_default:
            return False
    return True


field_specs = st.lists(st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.booleans()), max_size=6)


@settings(max_examples=150, deadline=None)
@given(
    specs=field_specs,
    frozen=st.booleans(),
    kw_only=st.booleans(),
    n_args=st.integers(0, 7),
    keywords=st.lists(st.sampled_from([f"f{n}" for n in range(7)] + ["nope"]), max_size=7, unique=True),
)
def test_a_datatype_behaves_as_the_dataclass_it_describes(
    specs: list[FieldSpec], frozen: bool, kw_only: bool, n_args: int, keywords: list[str]
) -> None:
    if not _fields_in_order(specs, kw_only):
        return
    stdlib, ours = _make_pair(specs, frozen, kw_only)
    args = [f"arg{n}" for n in range(n_args)]
    kwargs = {name: f"kw-{name}" for name in keywords}

    expected_kind, expected = _outcome(lambda: stdlib(*args, **kwargs))
    got_kind, got = _outcome(lambda: ours(*args, **kwargs))
    assert got_kind == expected_kind, (args, kwargs)
    if got_kind != "ok":
        return

    assert repr(got) == repr(expected)
    assert dataclasses.asdict(got) == dataclasses.asdict(expected)
    assert [f.name for f in dataclasses.fields(got)] == [f.name for f in dataclasses.fields(expected)]
    assert dataclasses.is_dataclass(got)
    twin = ours(*args, **kwargs)
    assert got == twin and (expected == stdlib(*args, **kwargs))
    assert got != expected, "instances of different classes are never equal"
    if frozen:
        assert _outcome(lambda: hash(got))[0] == _outcome(lambda: hash(expected))[0]  # a list field: unhashable
        if _outcome(lambda: hash(got))[0] == "ok":
            assert hash(got) == hash(twin)
        with pytest.raises(dataclasses.FrozenInstanceError):
            got.f0 = "changed"
        with pytest.raises(dataclasses.FrozenInstanceError):
            del got.f0
    else:
        assert ours.__hash__ is None and stdlib.__hash__ is None
    if specs:
        changed, expected_changed = (dataclasses.replace(one, f0="replaced") for one in (got, expected))
        assert changed.f0 == "replaced" and repr(changed) == repr(expected_changed)
        assert (changed == got) == (expected_changed == expected)


def test_a_default_factory_makes_a_new_value_for_each_instance() -> None:
    @datatype(frozen=False)
    class Bag:
        """Holds a list."""

        items: list[int] = dataclasses.field(default_factory=list)

    first, second = Bag(), Bag()
    first.items.append(1)
    assert second.items == [] and first.items == [1]
    first.items = [2]  # not frozen: assignment works
    assert first == Bag([2])


def test_errors_name_the_class_and_the_argument() -> None:
    @datatype(kw_only=True)
    class Entry:
        """Two fields."""

        name: str
        size: int = 0

    with pytest.raises(TypeError, match=r"Entry.__init__\(\) missing 1 required argument\(s\): 'name'"):
        Entry()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        Entry(name="a", colour="red")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="takes 1 positional arguments but 2 were given"):
        Entry("a")  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'name'"):
        Entry(name="a").name = "b"  # type: ignore[misc]


def test_post_init_runs_last_and_a_method_the_class_defines_wins() -> None:
    @datatype
    class Checked:
        """Refuses a negative size; shows itself its own way."""

        size: int

        def __post_init__(self) -> None:
            if self.size < 0:
                raise ValueError("size must not be negative")

        def __repr__(self) -> str:
            return f"<{self.size}>"

    assert repr(Checked(3)) == "<3>"
    with pytest.raises(ValueError, match="negative"):
        Checked(-1)


def test_class_variables_are_not_fields_and_a_subclass_adds_its_own() -> None:
    @datatype(kw_only=True)
    class Base:
        """A region."""

        KIND: ClassVar[str] = "base"
        region: str | None = None

    @datatype(kw_only=True)
    class Child(Base):
        """A region and a name."""

        name: str

    child = Child(name="n", region="eu-west-1")
    assert [f.name for f in dataclasses.fields(child)] == ["region", "name"]
    assert repr(child).endswith("<locals>.Child(region='eu-west-1', name='n')")
    assert child != Base(region="eu-west-1") and Child.KIND == "base"


def test_equal_values_hash_alike_so_they_can_key_a_dict() -> None:
    @datatype
    class Pair:
        """Two names."""

        a: str
        b: tuple[str, ...] = ()

    table = {Pair("x", ("y",)): 1}
    assert table[Pair("x", ("y",))] == 1
    assert copy.copy(Pair("x")) == Pair("x") and copy.deepcopy(Pair("x", ("z",))) == Pair("x", ("z",))


def test_a_field_set_outside_init_is_refused_when_the_class_is_made() -> None:
    class Counted:
        """A field with init=False."""

        total: int = dataclasses.field(default=0, init=False)

    Counted.__annotations__ = {"total": "int"}
    with pytest.raises(TypeError, match="field 'total': InitVar and init=False are not supported"):
        datatype(Counted)


def test_a_default_is_never_compared_with_anything() -> None:
    class Touchy:
        """A value that refuses to be compared (as some array types do)."""

        def __eq__(self, other: object) -> bool:
            raise AssertionError("compared")

        __hash__ = object.__hash__

    touchy = Touchy()

    @datatype
    class Holder:
        """One field whose default must not be compared."""

        value: object = touchy

    assert Holder().value is touchy
