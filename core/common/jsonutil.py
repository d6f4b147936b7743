"""JSON: lenient conversion for reports, strict canonical text for the store.

* :func:`to_jsonable` turns numpy scalars and arrays, tuples and mappings into plain JSON types
  and non-finite floats into ``None`` (reports, sidecars, ``report.json``).
* :func:`canonical_json` is strict: sorted keys, no spaces, finite numbers only (unless
  ``nan_to_null``); two equal values give the same text (the store compares scenarios by it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from core.common.errors import CJOError


def to_jsonable(obj: Any, *, digits: int | None = None) -> Any:
    """Plain JSON types from ``obj``: numpy -> Python, NaN / inf -> None, tuples -> lists.

    Parameters
    ----------
    obj
        Any nesting of mappings, sequences, numpy arrays and scalars.
    digits
        Round floats to this many decimals (None: as they are).

    Examples
    --------
    >>> to_jsonable({"a": np.float32(0.5), "b": (1, float("nan"))})
    {'a': 0.5, 'b': [1, None]}
    """
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v, digits=digits) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    if isinstance(obj, list | tuple):
        return [to_jsonable(v, digits=digits) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        if not math.isfinite(obj):
            return None
        return round(obj, digits) if digits is not None else obj
    return obj


def dumps(obj: Any, **kw: Any) -> str:
    """``json.dumps`` of :func:`to_jsonable` (``indent`` etc. passed through)."""
    return json.dumps(to_jsonable(obj), **kw)


def _plain(obj: Any, path: str, nan_to_null: bool) -> Any:
    """Turn ``obj`` into plain JSON types, refusing anything that would not round-trip."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        if not math.isfinite(value):
            if nan_to_null:
                return None
            raise CJOError(
                f"{path or 'value'} is {value}: only finite numbers can be saved. "
                "Replace it with a finite number or leave it out."
            )
        return value
    if isinstance(obj, Mapping):
        out = {}
        for key, value in obj.items():
            if not isinstance(key, str):
                raise CJOError(
                    f"{path or 'parameters'} has the key {key!r} of type {type(key).__name__}: "
                    "keys must be strings."
                )
            out[key] = _plain(value, f"{path}.{key}" if path else key, nan_to_null)
        return out
    if isinstance(obj, list | tuple | np.ndarray):
        seq = obj.tolist() if isinstance(obj, np.ndarray) else obj
        return [_plain(v, f"{path}[{i}]", nan_to_null) for i, v in enumerate(seq)]
    raise CJOError(
        f"{path or 'value'} is a {type(obj).__name__}, which cannot be saved as JSON; "
        "use numbers, strings, booleans, lists and dicts."
    )


def canonical_json(obj: Any, *, nan_to_null: bool = False) -> str:
    """Serialise ``obj`` to canonical JSON: sorted keys, no spaces, UTF-8 text.

    Two equal values give the same text, so equal scenarios compare equal in the database.

    Parameters
    ----------
    obj
        Plain data: dicts with string keys, lists/tuples, strings, booleans, ``None``, finite
        numbers (numpy scalars and arrays are converted).
    nan_to_null
        Write non-finite floats (NaN, inf) as ``null`` instead of refusing them. Used for summary
        metrics, where "undefined" is a legitimate value.

    Raises
    ------
    CJOError
        For values JSON cannot hold exactly (objects, non-string keys, NaN unless allowed).

    Examples
    --------
    >>> canonical_json({"b": 1, "a": [1.5, True]})
    '{"a":[1.5,true],"b":1}'
    """
    return json.dumps(
        _plain(obj, "", nan_to_null),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
