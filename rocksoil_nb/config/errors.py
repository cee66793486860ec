"""Parameters errors in the workbook's words: pydantic's validation errors of the schema turned into one message that
names the file, the key, what its value must be and what the key means (its ``description`` in the schema)."""

from __future__ import annotations

import typing

from pydantic import ValidationError

from rocksoil_nb.config.rules import Rule

INTERNAL = ("root", "workdir", "profile", "profile_name")  # AreaConfig keys load() fills, never a parameters file


class ParameterError(ValueError):
    """A parameters file is missing, malformed, or does not match the schema."""


# --------------------------------------------------------------------------- pydantic's errors, in the workbook's words

_TYPES = {"int_type": "an integer", "int_from_float": "an integer", "float_type": "a number", "bool_type": "true or false",
          "string_type": "a string", "list_type": "a list", "dict_type": "a mapping", "dataclass_type": "a mapping",
          "date_type": "a date YYYY-MM-DD", "date_from_datetime_parsing": "a date YYYY-MM-DD",
          "date_parsing": "a date YYYY-MM-DD", "date_from_datetime_inexact": "a date YYYY-MM-DD"}


def _rule_words(err: dict) -> str:
    """What the value must be, from one pydantic error."""
    t, ctx = err["type"], err.get("ctx") or {}
    if t in _TYPES:
        return _TYPES[t]
    if t == "literal_error":
        return f"one of [{ctx.get('expected', '')}]"
    if t == "greater_than":
        return "a positive number" if ctx.get("gt") == 0 else f"greater than {ctx.get('gt'):g}"
    if t == "greater_than_equal":
        return "0 or more" if ctx.get("ge") == 0 else f"at least {ctx.get('ge'):g}"
    if t == "less_than":
        return f"less than {ctx.get('lt'):g}"
    if t == "less_than_equal":
        return f"at most {ctx.get('le'):g}"
    if t in ("too_short", "too_long"):
        n = ctx.get("min_length") if t == "too_short" else ctx.get("max_length")
        return f"{n} values" if n is not None else "of another length"
    return err["msg"]


def _where(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("" if part == "[key]" else f".{part}" if out else str(part))
    return out


def _meaning(cls, loc: tuple) -> str:
    """The description the schema gives the key at ``loc`` ("" where it gives none)."""
    info = None
    for part in loc:
        fields = getattr(cls, "__pydantic_fields__", None)
        if not isinstance(part, str) or not fields or part not in fields:
            return ""
        info = fields[part]
        cls = next((a for a in [info.annotation, *typing.get_args(info.annotation)] if hasattr(a, "__pydantic_fields__")), None)
    return info.description or "" if info else ""


def explain(e: ValidationError, cls, src: str) -> ParameterError:
    """The first of pydantic's errors as a message naming the file and the key (and the key's meaning)."""
    err = e.errors()[0]
    loc, t = tuple(err["loc"]), err["type"]
    if t in ("unexpected_keyword_argument", "extra_forbidden"):
        allowed = sorted(set(getattr(_section(cls, loc[:-1]), "__pydantic_fields__", {})) - set(INTERNAL if len(loc) == 1 else ()))
        return ParameterError(f"{src}: unknown key '{_where(loc)}' (allowed here: {', '.join(allowed)})")
    if t in ("missing", "missing_keyword_argument"):
        return ParameterError(f"{src}: missing required key '{_where(loc)}'")
    if t == "value_error" and isinstance((err.get("ctx") or {}).get("error"), Rule):
        rule = err["ctx"]["error"]
        key = rule.key if "." in rule.key and not loc else _where((*loc, *rule.key.split(".")))
        return ParameterError(f"{src}: key '{key}' {rule.message}")
    meaning = _meaning(cls, loc)
    return ParameterError(f"{src}: key '{_where(loc)}' must be {_rule_words(err)}, got {err.get('input')!r}"
                          + (f" ({meaning})" if meaning else ""))


def _section(cls, loc: tuple):
    for part in loc:
        info = getattr(cls, "__pydantic_fields__", {}).get(part) if isinstance(part, str) else None
        if info is None:
            return cls
        cls = next((a for a in [info.annotation, *typing.get_args(info.annotation)] if hasattr(a, "__pydantic_fields__")), cls)
    return cls


