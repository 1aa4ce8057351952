"""Typed settings: dataclass fields that carry their own help and check.

A config section is a dataclass whose fields are declared with :func:`setting`: type (the
annotation), default, help text and an optional check live in that one declaration. Everything else
is derived from it: parsing a ``--set section.key=value`` text or a TOML value into the field's
type, the field listing of ``train --list-fields``, and validation.

Supported field types: ``int``, ``float``, ``str``, ``bool``, ``Path``, ``tuple[int, int]`` (a size,
written ``256x1024`` or ``[256, 1024]``), each optionally ``| None`` (written ``none``).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from model.errors import EditorError

Check = Callable[[Any], "str | None"]  # returns what is wrong with a value, or None


def setting(
    default: Any, help: str, *, check: Check | None = None, choices: Sequence[str] | None = None
) -> Any:
    """A config field: its default, a one-line help and, optionally, a check or a set of choices."""
    return dataclasses.field(default=default, metadata={"help": help, "check": check, "choices": choices})


# ----- checks ------------------------------------------------------------------------------------
def at_least(minimum: float) -> Check:
    return lambda v: None if v is None or v >= minimum else f"must be at least {minimum}"


def positive(value: float | None) -> str | None:
    return None if value is None or (math.isfinite(value) and value > 0) else "must be positive"


def within(low: float, high: float, *, high_open: bool = False, low_open: bool = False) -> Check:
    """low ≤ v ≤ high; ``low_open``/``high_open`` exclude that end ("[0, 1)" style in the message)."""
    text = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def check(value: float) -> str | None:
        below = value <= low if low_open else value < low
        above = value >= high if high_open else value > high
        return f"must be in {text}" if below or above or not math.isfinite(value) else None

    return check


# ----- types ------------------------------------------------------------------------------------
def _base_type(hint: Any) -> tuple[Any, bool]:
    """(the type without ``None``, whether ``None`` is allowed)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return hint, False


def type_name(hint: Any) -> str:
    base, optional = _base_type(hint)
    name = "WxH" if typing.get_origin(base) is tuple else getattr(base, "__name__", str(base))
    return f"{name} | none" if optional else name


def _parse_text(text: str, base: Any) -> Any:
    """A command-line text in the field's type."""
    if base is bool:
        lowered = text.strip().lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        raise ValueError(f"'{text}' is not true or false")
    if typing.get_origin(base) is tuple:
        return _size(text.lower().replace("×", "x").split("x"))
    if base is Path:
        return Path(text)
    return base(text)


def _size(parts: Sequence[Any]) -> tuple[int, int]:
    if len(parts) != 2:
        raise ValueError("a size is WIDTHxHEIGHT, e.g. 256x1024")
    width, height = (int(p) for p in parts)
    if width < 1 or height < 1:
        raise ValueError(f"size {width}x{height} must be positive")
    return width, height


def coerce(value: Any, hint: Any) -> Any:
    """A value from a TOML file or the command line (text) in the field's type; ValueError if not."""
    base, optional = _base_type(hint)
    if value is None or (optional and isinstance(value, str) and value.strip().lower() in ("none", "null")):
        if optional:
            return None
        raise ValueError("cannot be none")
    if isinstance(value, str) and base is not str:
        return _parse_text(value, base)
    if typing.get_origin(base) is tuple:
        if isinstance(value, (list, tuple)):
            return _size(value)
        raise ValueError(f"'{value}' is not a size like 256x1024")
    if base is bool:
        if isinstance(value, bool):
            return value
        raise ValueError(f"'{value}' is not true or false")
    if base is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if base is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if base is str and isinstance(value, str):
        return value
    if base is Path and isinstance(value, (str, Path)):
        return Path(value)
    raise ValueError(f"{value!r} is not a {type_name(hint)}")


# ----- sections and paths ------------------------------------------------------------------------
def hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def sections(config_cls: type) -> dict[str, type]:
    """The top-level config's sections: name → section dataclass."""
    return {f.name: hints(config_cls)[f.name] for f in dataclasses.fields(config_cls)}


def iter_fields(config_cls: type) -> Iterator[tuple[str, dataclasses.Field, Any]]:
    """Every leaf field as ("section.key", field, type hint)."""
    for section, section_cls in sections(config_cls).items():
        types_ = hints(section_cls)
        for f in dataclasses.fields(section_cls):
            yield f"{section}.{f.name}", f, types_[f.name]


def check_value(path: str, f: dataclasses.Field, value: Any) -> str | None:
    """What is wrong with ``value`` for field ``path`` (its choices and check), or None."""
    choices = f.metadata.get("choices")
    if choices and value not in choices:
        return f"{path} '{value}' must be one of {', '.join(choices)}"
    check = f.metadata.get("check")
    problem = check(value) if check is not None else None
    return f"{path} {value} {problem}" if problem else None


def validate_fields(config: Any) -> None:
    """Raise EditorError for the first field whose value fails its choices or check."""
    for path, f, _ in iter_fields(type(config)):
        section, key = path.split(".")
        problem = check_value(path, f, getattr(getattr(config, section), key))
        if problem:
            raise EditorError(problem)


def _unknown(what: str, name: str, known: Sequence[str], source: str) -> EditorError:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(known)})"
    return EditorError(f"{source}: unknown {what} '{name}'{hint}")


def updated(config: Any, values: Mapping[str, Any], source: str = "settings") -> Any:
    """A copy of ``config`` with {"section.key": value} applied (values coerced to the field types)."""
    all_sections = sections(type(config))
    changes: dict[str, dict[str, Any]] = {}
    for path, value in values.items():
        section, _, key = path.partition(".")
        if section not in all_sections:
            raise _unknown("section", section, list(all_sections), source)
        section_hints = hints(all_sections[section])
        if key not in section_hints:
            raise _unknown(f"key in [{section}]", key, list(section_hints), source)
        try:
            changes.setdefault(section, {})[key] = coerce(value, section_hints[key])
        except (ValueError, TypeError) as exc:
            raise EditorError(f"{source}: {path}: {exc}") from None
    return dataclasses.replace(
        config,
        **{name: dataclasses.replace(getattr(config, name), **fields_) for name, fields_ in changes.items()},
    )


def flatten(tree: Mapping[str, Any], source: str) -> dict[str, Any]:
    """A parsed TOML recipe ({section: {key: value}}) as {"section.key": value}."""
    flat = {}
    for section, table in tree.items():
        if not isinstance(table, Mapping):
            raise EditorError(f"{source}: '{section}' must be a [section] table, e.g. [arch]")
        flat.update({f"{section}.{key}": value for key, value in table.items()})
    return flat


def parse_assignment(text: str) -> tuple[str, str]:
    """``section.key=value`` → (path, value text)."""
    path, sep, value = text.partition("=")
    if not sep or "." not in path:
        raise EditorError(f"--set '{text}': expected SECTION.KEY=VALUE, e.g. arch.ngf=32")
    return path.strip(), value.strip()


def to_json(config: Any) -> dict[str, dict[str, Any]]:
    """The config as nested JSON-able dicts (paths as text, sizes as lists)."""

    def plain(value: Any) -> Any:
        return str(value) if isinstance(value, Path) else list(value) if isinstance(value, tuple) else value

    return {
        name: {k: plain(v) for k, v in dataclasses.asdict(getattr(config, name)).items()}
        for name in sections(type(config))
    }


def describe(config_cls: type) -> list[tuple[str, str, str, str]]:
    """(path, type, default, help) of every field, for ``--list-fields``."""
    rows = []
    for path, f, hint in iter_fields(config_cls):
        default = f.default
        shown = (
            "none"
            if default is None
            else (
                f"{default[0]}x{default[1]}"
                if isinstance(default, tuple)
                else str(default).lower()
                if isinstance(default, bool)
                else str(default)
            )
        )
        choices = f.metadata.get("choices")
        kind = "|".join(choices) if choices else type_name(hint)
        rows.append((path, kind, shown, f.metadata.get("help", "")))
    return rows
