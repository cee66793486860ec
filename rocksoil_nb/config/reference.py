"""The parameters reference, generated from the schema's declarations (each key's type, default, range and meaning):
``markdown()`` is the documentation's "Parameters" page, so the page cannot drift from the code."""

from __future__ import annotations

import dataclasses
import typing

from pydantic.fields import PydanticUndefined

from rocksoil_nb.config.schema import AreaConfig, Profile

#: AreaConfig keys that load() fills (never written in a parameters file)
_FILLED = ("profile_name", "profile", "root", "workdir")


def _type_name(tp) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" if a != "" else '`""`' for a in args)
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    if origin is typing.Union or type(tp).__name__ == "UnionType":
        return " or ".join(_type_name(a) for a in args if a is not type(None)) + " (optional)"
    return getattr(tp, "__name__", str(tp))


def _range(info) -> str:
    words = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤", "min_length": "length ≥", "max_length": "length ≤"}
    out = []
    for m in info.metadata:
        for k, sym in words.items():
            v = getattr(m, k, None)
            if v is not None:
                out.append(f"{sym} {v:g}" if isinstance(v, float) else f"{sym} {v}")
    return ", ".join(out)


def _default(info) -> str:
    if info.default is not PydanticUndefined:
        return "required" if info.default is ... else f"`{info.default!r}`"
    if info.default_factory is not None:
        try:
            v = info.default_factory()
        except TypeError:
            return ""
        return f"`{v!r}`" if not dataclasses.is_dataclass(v) else "(section)"
    return "required"


def rows(cls, prefix: str = "") -> list[tuple[str, str, str, str, str]]:
    """(key, type, default, range, meaning) of every key of section ``cls``, nested sections flattened with dots."""
    out = []
    for name, info in cls.__pydantic_fields__.items():
        if cls is AreaConfig and name in _FILLED:
            continue
        tp = info.annotation
        inner = next((a for a in [tp, *typing.get_args(tp)] if hasattr(a, "__pydantic_fields__")), None)
        if inner is not None:
            out += rows(inner, f"{prefix}{name}.")
            continue
        out.append((f"{prefix}{name}", _type_name(tp), _default(info), _range(info), (info.description or "").replace("|", "\\|")))
    return out


def markdown() -> str:
    """The parameters reference as Markdown: the area file's keys, then a profile's."""
    def table(rs):
        lines = ["| key | type | default | range | meaning |", "|---|---|---|---|---|"]
        return "\n".join(lines + [f"| `{k}` | {t} | {d} | {r} | {m} |" for k, t, d, r, m in rs])

    return ("# Parameters\n\n"
            "Every key of `parameters/<aoi>.yaml` and of a profile in `parameters/profiles.yaml`, generated from the schema "
            "(`rocksoil_nb.config.schema`): a key not listed here, a value of another type or outside its range stops "
            "`config.load` with a message naming the file and the key. Rules between keys (a weight for each class code, "
            "the UTM zone of the area's centre, a simulator section when the source is `simulated`, …) are the "
            "sections' validators.\n\n## Area file\n\n" + table(rows(AreaConfig))
            + "\n\n## Profile (`parameters/profiles.yaml`)\n\nBeside these keys a profile has `overrides`: a nested mapping "
            "of area-file keys it replaces.\n\n" + table(rows(Profile)) + "\n")
