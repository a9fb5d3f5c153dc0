"""Hikvision ISAPI `EventNotificationAlert` (HTTP listening / alarm-host push): XML or JSON, parsed into
one AlarmSignal. XML goes through defusedxml: no entity expansion, no DTDs, no external entities.

eventType names confirmed against payloads public projects keep as fixtures (pyhik's SENSOR_MAP,
Scrypted's Hikvision plugin, node-hikvision-api, openHAB ipcamera): VMD, linedetection, fielddetection,
regionEntrance, regionExiting, shelteralarm, tamperdetection, videoloss, PIR, with eventState
active/inactive and activePostCount. The smoke/fire, parking and duty-post names below come from the
vendor's AI open-platform and thermal event lists and were NOT found in a public fixture; they are
matched case-insensitively so a firmware's spelling variant still lands.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element

import orjson
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from services.alarms.signals import AlarmSignal, SignalSource
from services.models.alarms import AlarmType

NAMESPACE = "http://www.hikvision.com/ver20/XMLSchema"

_EVENT_TYPES: dict[str, AlarmType] = {
    # confirmed in public fixtures
    "fielddetection": AlarmType.intrusion,
    "linedetection": AlarmType.intrusion,
    "regionentrance": AlarmType.intrusion,
    "regionexiting": AlarmType.intrusion,
    "pir": AlarmType.intrusion,
    "shelteralarm": AlarmType.tampering,
    "tamperdetection": AlarmType.tampering,
    "videoloss": AlarmType.video_loss,
    "vmd": AlarmType.motion,
    # vendor event lists, not confirmed by a fixture
    "smokedetection": AlarmType.smoke,
    "smokeandfiredetection": AlarmType.fire,
    "firedetection": AlarmType.fire,
    "fireescapedetection": AlarmType.illegal_parking,  # 消防通道占用
    "illegalparking": AlarmType.illegal_parking,
    "parking": AlarmType.illegal_parking,
    "leaveposition": AlarmType.off_post,  # 离岗
    "personabsence": AlarmType.off_post,
    "sleeping": AlarmType.asleep_on_post,  # 睡岗
    "peoplesleeping": AlarmType.asleep_on_post,
}


class MalformedEvent(ValueError):
    """The body is not an EventNotificationAlert we can read (or is hostile XML)."""


def map_event_type(name: str) -> AlarmType:
    return _EVENT_TYPES.get(name.strip().lower(), AlarmType.other)


def _element_to_dict(el: Element) -> Any:
    children = list(el)
    if not children:
        return (el.text or "").strip()
    out: dict[str, Any] = {}
    for child in children:
        key = child.tag.rsplit("}", 1)[-1]
        value = _element_to_dict(child)
        if key in out:
            if not isinstance(out[key], list):
                out[key] = [out[key]]
            out[key].append(value)
        else:
            out[key] = value
    return out


def parse_xml(body: bytes) -> dict[str, Any]:
    try:
        root = fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise MalformedEvent(type(exc).__name__) from exc
    if root.tag.rsplit("}", 1)[-1] != "EventNotificationAlert":
        raise MalformedEvent("not an EventNotificationAlert")
    parsed = _element_to_dict(root)
    if not isinstance(parsed, dict):
        raise MalformedEvent("empty EventNotificationAlert")
    return parsed


def _without_nul(value: Any) -> Any:
    """PostgreSQL's JSON cannot hold U+0000; a device's stray NUL must not fail the insert."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def parse_json(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedEvent("json") from exc
    if isinstance(data, dict) and isinstance(data.get("EventNotificationAlert"), dict):
        data = data["EventNotificationAlert"]
    if not isinstance(data, dict):
        raise MalformedEvent("not an object")
    cleaned: dict[str, Any] = _without_nul(data)
    return cleaned


def _when(value: object) -> datetime:
    if isinstance(value, str) and value:
        try:
            at = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return at if at.tzinfo else at.replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.now(UTC)


def to_signal(event: dict[str, Any]) -> AlarmSignal:
    """An EventNotificationAlert (as a dict) as a signal; `heartBeat` / missing type is malformed."""
    name = event.get("eventType")
    if not isinstance(name, str) or not name.strip():
        raise MalformedEvent("no eventType")
    state = str(event.get("eventState") or "active").strip().lower()
    if state not in ("active", "inactive"):
        raise MalformedEvent("eventState")
    external = event.get("UUID") or event.get("uuid")
    return AlarmSignal(
        type=map_event_type(name),
        active=state == "active",
        occurred_at=_when(event.get("dateTime")),
        source=SignalSource.isapi,
        external_id=str(external)[:100] if external else None,
        raw=event,
    )
