"""Reading untrusted JSON within bounds: size and nesting checked before parsing.

``json.loads`` recurses once per nesting level: 100,000 ``[`` raise RecursionError, which
no caller expects from a parser. :func:`load_json` refuses a document longer than
``max_bytes`` or nested deeper than ``max_depth`` with :class:`InvalidJson` (a ValueError)
before ``json.loads`` sees it. The request bodies and import rows this package reads are
flat objects, so the defaults leave plenty of room.
"""

from __future__ import annotations

import json
import re
from typing import Final

from flask_bitmapist.exceptions import InvalidJson

__all__ = ["MAX_JSON_BYTES", "MAX_JSON_DEPTH", "InvalidJson", "load_json"]

#: Longest JSON document read (a request body, an import row), in bytes of UTF-8.
MAX_JSON_BYTES: Final = 1_048_576
#: Deepest nesting of arrays and objects in a JSON document.
MAX_JSON_DEPTH: Final = 32

# Strings are skipped when counting brackets: "[[[" inside a string nests nothing.
_STRING: Final = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET: Final = re.compile(r"[\[\]{}]")


def load_json(
    document: str | bytes, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH
) -> object:
    """The value ``document`` holds, or :class:`InvalidJson` saying what is wrong.

    >>> load_json('{"a": [1, 2]}')
    {'a': [1, 2]}
    >>> load_json("[" * 100_000)
    Traceback (most recent call last):
    ...
    flask_bitmapist.exceptions.InvalidJson: JSON nested more than 32 levels deep
    """
    if isinstance(document, bytes):
        size = len(document)
        if size > max_bytes:
            raise InvalidJson(f"JSON document of {size:,} bytes; at most {max_bytes:,} are read")
        try:
            text = document.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidJson(f"JSON document is not UTF-8 text ({exc.reason})") from None
    else:
        text = document
        if len(text) > max_bytes:  # a character is at least one byte
            raise InvalidJson(
                f"JSON document of {len(text):,} characters; at most {max_bytes:,} bytes are read"
            )
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub('""', text)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > max_depth:
            raise InvalidJson(f"JSON nested more than {max_depth} levels deep")
    try:
        return json.loads(text)
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise InvalidJson(f"JSON nested more than {max_depth} levels deep") from None
    except ValueError as exc:
        raise InvalidJson(f"not valid JSON ({exc.args[0] if exc.args else exc})") from None
