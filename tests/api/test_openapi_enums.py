"""Named enums in the contract: one TicketStatus (etc.) shared by requests and responses."""

from __future__ import annotations

from typing import Any

from tests.api.openapi_spec import spec

ENUMISH = ("status", "kind", "role", "category", "priority", "channel", "type", "severity")


def _ref(prop: dict[str, Any]) -> str | None:
    for option in [prop, *prop.get("anyOf", [])]:
        if "$ref" in option:
            return str(option["$ref"]).rsplit("/", 1)[-1]
    return None


def test_tickets_and_notices_use_named_enums_on_both_sides() -> None:
    schemas = spec()["components"]["schemas"]
    expected = {
        ("TicketCreate", "kind"): "TicketKind",
        ("TicketCreate", "priority"): "TicketPriority",
        ("TicketCreate", "complaint_target"): "ComplaintTarget",
        ("TicketListItem", "kind"): "TicketKind",
        ("TicketListItem", "status"): "TicketStatus",
        ("TicketListItem", "priority"): "TicketPriority",
        ("TicketListItem", "intake_channel"): "IntakeChannel",
        ("TicketOut", "status"): "TicketStatus",
        ("TicketOut", "complaint_target"): "ComplaintTarget",
        ("TicketEventOut", "to_status"): "TicketStatus",
        ("NoticeCreate", "kind"): "NoticeKind",
        ("NoticeCreate", "author_role"): "NoticeAuthorRole",
        ("NoticeItem", "kind"): "NoticeKind",
        ("NoticeItem", "status"): "NoticeStatus",
        ("NoticeItem", "author_role"): "NoticeAuthorRole",
        ("NoticeOut", "status"): "NoticeStatus",
        ("AssignmentCreate", "role"): "AssignmentRole",
        ("AssignmentOut", "role"): "AssignmentRole",
        ("PostCreate", "category"): "PostCategory",
        ("RosterPost", "category"): "PostCategory",
        ("ShiftOut", "status"): "ShiftStatus",
        ("AlarmOut", "status"): "AlarmStatus",
        ("AlarmOut", "severity"): "AlarmSeverity",
        ("AlarmOut", "clear_reason"): "ClearReason",
        ("AlarmDetail", "status"): "AlarmStatus",
        ("AlarmEventOut", "kind"): "AlarmEventKind",
        ("RuleIn", "severity"): "AlarmSeverity",
        ("RuleOut", "type"): "AlarmType",
        ("RuleOut", "severity"): "AlarmSeverity",
        ("MemberCreate", "role"): "Role",
        ("MemberOut", "role"): "Role",
        ("MemberOut", "status"): "MembershipStatus",
        ("MembershipOut", "role"): "Role",
        ("MembershipOut", "status"): "MembershipStatus",
        ("DeliveryOut", "channel"): "Channel",
        ("DeliveryOut", "status"): "DeliveryStatus",
        ("DeliveryOut", "provider"): "PushProvider",
        ("NoticeOut", "audience_type"): "AudienceType",
        ("NoticeCreate", "audience_type"): "AudienceType",
        ("PartyMemberOut", "role"): "Role",
        ("PartyMemberOut", "status"): "MembershipStatus",
    }
    got = {key: _ref(schemas[key[0]]["properties"][key[1]]) for key in expected}
    assert got == expected
    for name in set(expected.values()):
        assert schemas[name]["type"] == "string" and schemas[name]["enum"], name
    status = next(p for p in spec()["paths"]["/v1/tickets"]["get"]["parameters"] if p["name"] == "status")
    assert status["schema"]["anyOf"][0]["items"] == {"$ref": "#/components/schemas/TicketStatus"}


def _plain_enumish_response_fields() -> list[str]:
    schemas = spec()["components"]["schemas"]
    out = []
    for name, schema in schemas.items():
        if name.endswith(("In", "Create", "Update")) or "Body_" in name:
            continue
        for field, prop in schema.get("properties", {}).items():
            plain = prop.get("type") == "string" or {"type": "string"} in prop.get("anyOf", [])
            fixed = "enum" in prop or "const" in prop  # a GeoJSON `type: "Point"` is a constant
            if field.endswith(ENUMISH) and not field.endswith("_label") and plain and not fixed:
                out.append(f"{name}.{field}")
    return sorted(out)


# A ratchet: response fields that still publish a status / kind / role / … as a plain string. Lower it
# as areas move to named enums; it must never grow (a new field takes a named enum from the start).
PLAIN_ENUMISH_LIMIT = 24


def test_plain_string_enums_only_shrink() -> None:
    plain = _plain_enumish_response_fields()
    assert len(plain) <= PLAIN_ENUMISH_LIMIT, "\n".join(plain)
