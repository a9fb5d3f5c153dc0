"""The one label catalogue: every enum a user sees, in zh-CN and English, collected from each area's
`labels.py` (the words live beside the area; services.i18n holds the registry and the lookup).

`catalogue(locale)` is what GET /v1/labels serves; `etag()` changes whenever any text does, so the
app can cache the catalogue and revalidate with If-None-Match.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel

import services.alarms.labels
import services.communities.labels
import services.duty.labels
import services.notices.labels
import services.notifications.labels
import services.polls.labels
import services.renovation.labels
import services.tickets.labels  # noqa: F401  (each registers its groups)
from services.i18n import LABELS, Locale, en, label, zh

M = TypeVar("M", bound=BaseModel)

__all__ = ["LABELS", "catalogue", "en", "etag", "label", "labelled", "with_labels", "zh"]


def catalogue(locale: Locale | None = None) -> dict[str, Any]:
    """{group: {value: text}} in one locale, or {group: {value: {"zh-CN": …, "en": …}}} for both."""
    out: dict[str, Any] = {}
    for name in sorted(LABELS):
        group = LABELS[name]
        if locale is None:
            out[name] = {v: {"zh-CN": zh, "en": en} for v, (zh, en) in group.labels.items()}
        else:
            out[name] = {v: (en if locale == "en" else zh) for v, (zh, en) in group.labels.items()}
    return out


@cache
def _etag() -> str:
    return hashlib.sha256(orjson.dumps(catalogue(), option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def etag(locale: Locale | None = None) -> str:
    return f'"{_etag()}-{locale or "all"}"'


def with_labels(model: M, locale: Locale | str, fields: dict[str, str]) -> M:
    """The same for a response model: a copy with its `<field>_label` fields filled."""
    return model.model_copy(
        update={
            f"{field}_label": label(group, getattr(model, field), locale) for field, group in fields.items()
        }
    )


def labelled(item: dict[str, Any], locale: Locale | str, fields: dict[str, str]) -> dict[str, Any]:
    """Add `<field>_label` beside each coded field: {"status": "closed"} -> also "status_label"."""
    for field, group in fields.items():
        if field in item:
            item[f"{field}_label"] = label(group, item[field], locale)
    return item
