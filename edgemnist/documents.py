"""Typed JSON documents: dataclasses read from and written to plain JSON-ready dicts.

The recipe (:mod:`edgemnist.training.recipe`), the artifact manifest (:mod:`edgemnist.manifest`)
and the benchmark result (:mod:`edgemnist.bench.result`) are dataclasses. JSON (or TOML) stays
the file format; :func:`from_dict` checks a parsed document against the dataclass's annotations
and names the first field that is unknown or of the wrong type, so a typo or a stale file fails
with a message that says where, instead of a ``KeyError`` three modules later.

Supported annotations (enough for our documents, small enough to read): ``int``, ``float``
(an int is accepted and converted), ``str``, ``bool``, ``Any``, ``Optional[X]``, ``List[X]``,
``Tuple[X, ...]``, ``Dict[str, X]`` and nested dataclasses. Python 3.8 compatible.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any, Dict, Tuple, Type, TypeVar, Union, get_type_hints

from edgemnist.errors import EdgeMnistError

T = TypeVar("T")

_HINTS: Dict[type, Dict[str, Any]] = {}


def _hints(cls: type) -> Dict[str, Any]:
    if cls not in _HINTS:
        module = sys.modules.get(cls.__module__)
        _HINTS[cls] = get_type_hints(cls, vars(module) if module else None)
    return _HINTS[cls]


def _origin(tp: Any) -> Any:
    return getattr(tp, "__origin__", None)


def _args(tp: Any) -> Tuple[Any, ...]:
    return tuple(getattr(tp, "__args__", ()) or ())


def _type_name(tp: Any) -> str:
    if tp is Any:
        return "any value"
    if isinstance(tp, type):
        return {
            "str": "a string",
            "int": "an integer",
            "float": "a number",
            "bool": "true/false",
        }.get(tp.__name__, "an object" if dataclasses.is_dataclass(tp) else tp.__name__)
    origin = _origin(tp)
    if origin is Union:
        return " or ".join(_type_name(a) for a in _args(tp) if a is not type(None)) + " or null"
    if origin in (list, tuple):
        return "a list"
    if origin is dict:
        return "an object"
    return str(tp)


Error = Type[EdgeMnistError]


def convert(value: Any, tp: Any, where: str, error: Error) -> Any:
    """``value`` checked against annotation ``tp`` (and converted: nested dataclasses, tuples).

    Raises:
        ``error``: with ``where`` (a dotted field path) in the message.
    """
    if tp is Any:
        return value
    kind = _CONVERTERS.get(_origin(tp))
    if kind is not None:
        return kind(value, tp, where, error)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise error(_wrong(value, tp, where))
        return from_dict(tp, value, error, where)
    if isinstance(tp, type):
        return _scalar(value, tp, where, error)
    return value  # an annotation this helper does not check (documented above)


def _union(value: Any, tp: Any, where: str, error: Error) -> Any:
    options = [o for o in _args(tp) if o is not type(None)]
    if value is None and len(options) < len(_args(tp)):
        return None
    problems = []
    for option in options:
        try:
            return convert(value, option, where, error)
        except EdgeMnistError as exc:
            problems.append(str(exc))
    raise error(problems[0] if len(problems) == 1 else _wrong(value, tp, where))


def _list(value: Any, tp: Any, where: str, error: Error) -> Any:
    if not isinstance(value, (list, tuple)):
        raise error(_wrong(value, tp, where))
    (item,) = _args(tp) or (Any,)
    return [convert(v, item, f"{where}[{i}]", error) for i, v in enumerate(value)]


def _tuple(value: Any, tp: Any, where: str, error: Error) -> Any:
    if not isinstance(value, (list, tuple)):
        raise error(_wrong(value, tp, where))
    items = _args(tp)
    if len(items) == 2 and items[1] is Ellipsis:
        items = (items[0],) * len(value)
    if len(items) != len(value):
        raise error(f"{where}: expected {len(items)} values, got {len(value)}")
    return tuple(
        convert(v, t, f"{where}[{i}]", error) for i, (v, t) in enumerate(zip(value, items))
    )


def _dict(value: Any, tp: Any, where: str, error: Error) -> Any:
    if not isinstance(value, dict):
        raise error(_wrong(value, tp, where))
    _key, item = _args(tp) or (str, Any)
    return {str(k): convert(v, item, f"{where}.{k}", error) for k, v in value.items()}


def _scalar(value: Any, tp: type, where: str, error: Error) -> Any:
    """str, bool, int (never a bool), float (an int is accepted and converted)."""
    numeric = tp in (int, float)
    if numeric and isinstance(value, bool):
        raise error(_wrong(value, tp, where))
    if tp is float and isinstance(value, int):
        return float(value)
    if not isinstance(value, tp):
        raise error(_wrong(value, tp, where))
    return value


_CONVERTERS = {Union: _union, list: _list, tuple: _tuple, dict: _dict}


def _wrong(value: Any, tp: Any, where: str) -> str:
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return f"{where} must be {_type_name(tp)}, got {shown}"


def from_dict(cls: Type[T], data: Any, error: Type[EdgeMnistError], where: str = "") -> T:
    """Build dataclass ``cls`` from ``data``, refusing unknown keys and wrong types.

    Args:
        cls: the dataclass.
        data: a parsed JSON/TOML object.
        error: the error class to raise (``ConfigError`` for recipes, ``ArtifactError``
            for files an artifact carries).
        where: prefix for field names in messages (``"train"`` -> ``train.epochs``).

    Raises:
        ``error``: naming the first unknown, missing or mistyped field.
    """
    if not isinstance(data, dict):
        raise error(f"{where or cls.__name__} must be an object, got {type(data).__name__}")
    assert dataclasses.is_dataclass(cls)
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        prefix = f"{where}." if where else ""
        raise error(f"unknown field {prefix}{unknown[0]} (known: {', '.join(fields)})")
    kwargs: Dict[str, Any] = {}
    for name, f in fields.items():
        path = f"{where}.{name}" if where else name
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:  # type: ignore[misc]
                raise error(f"missing field {path}")
            continue
        kwargs[name] = convert(data[name], hints[name], path, error)
    return cls(**kwargs)  # type: ignore[call-arg]


def to_dict(obj: Any, drop_none: bool = False) -> Any:
    """A dataclass (nested ones included) as plain JSON-ready values (tuples become lists).

    ``drop_none`` leaves out fields whose value is None (optional fields never set), so a
    document does not grow a key for every optional field.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if drop_none and value is None:
                continue
            out[f.name] = to_dict(value, drop_none)
        return out
    if isinstance(obj, (list, tuple)):
        return [to_dict(v, drop_none) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_dict(v, drop_none) for k, v in obj.items()}
    return obj
