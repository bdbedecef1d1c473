"""Small records that behave as dataclasses do (repr, comparison by fields, frozen ones hashed
and unassignable) without the dataclasses module: importing it brings inspect, ast, dis and
tokenize (~5 ms), and each @dataclass compiles its methods when the module is imported (~0.3 ms
each). Kept for the records of commands that otherwise need none of it (`metrics diff`); the
rest of pipetool uses dataclasses."""

from __future__ import annotations


class Record:
    """A record whose fields, in order, are named by _fields; a subclass sets them in __init__."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self._fields)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values() == other._values()  # type: ignore[attr-defined]
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # as a dataclass that is not frozen


class FrozenRecord(Record):
    """A frozen record: hashed by its fields, and its fields cannot be assigned (AttributeError,
    as dataclasses' FrozenInstanceError is one); its __init__ sets them with _set."""

    __slots__ = ()

    def _set(self, **values) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __hash__(self) -> int:
        return hash(self._values())

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")
