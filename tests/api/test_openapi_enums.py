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
        ("TicketCreate", "category"): "TicketCategory",
        ("TicketListItem", "category"): "TicketCategory",
        ("SlaPolicyIn", "category"): "TicketCategory",
        ("SlaPolicyOut", "category"): "TicketCategory",
        ("SlaPolicyIn", "kind"): "TicketKind",
        ("SlaPolicyOut", "kind"): "TicketKind",
        ("SlaPolicyIn", "priority"): "TicketPriority",
        ("SlaPolicyOut", "priority"): "TicketPriority",
        ("DefaultTarget", "priority"): "TicketPriority",
        ("OpenTicket", "priority"): "TicketPriority",
        ("AlarmTicketIn", "priority"): "TicketPriority",
        ("AlarmTicketIn", "category"): "RepairCategory",
        ("RequestDecision", "category"): "RepairCategory",
        ("RatingIn", "channel"): "RatingChannel",
        ("RatingOut", "channel"): "RatingChannel",
        ("InspectionCreate", "kind"): "InspectionKind",
        ("InspectionOut", "kind"): "InspectionKind",
        ("ClaimOut", "status"): "MembershipStatus",
        ("FollowupOut", "status"): "FollowupStatus",
        ("NotificationOut", "category"): "NotificationCategory",
        ("DeliveryOut", "category"): "NotificationCategory",
        ("PreferenceItem", "category"): "NotificationCategory",
        ("PreferenceItem", "channel"): "Channel",
        ("PaperBallotOut", "channel"): "BallotChannel",
        ("ProjectOut", "status"): "ProjectStatus",
        ("SourceCreate", "kind"): "FundKind",
        ("SourceOut", "kind"): "FundKind",
        ("RoleCreate", "role"): "ThreeRole",
        ("RoleOut", "role"): "ThreeRole",
        ("PollCreate", "kind"): "PollKind",
        ("PollOut", "kind"): "PollKind",
        ("PollListItem", "status"): "PollStatus",
        ("PollOut", "status"): "PollStatus",
        ("QuestionIn", "type"): "QuestionType",
        ("QuestionOut", "type"): "QuestionType",
        ("IngestOut", "status"): "IngestStatus",
    }
    got = {key: _ref(schemas[key[0]]["properties"][key[1]]) for key in expected}
    assert got == expected
    for name in set(expected.values()):
        assert schemas[name]["type"] == "string" and schemas[name]["enum"], name
    status = next(p for p in spec()["paths"]["/v1/tickets"]["get"]["parameters"] if p["name"] == "status")
    assert status["schema"]["anyOf"][0]["items"] == {"$ref": "#/components/schemas/TicketStatus"}
    # Query filters take the response's enum too.
    for path, name, enum in [
        ("/v1/admin/deliveries", "status", "DeliveryStatus"),
        ("/v1/communities/{cid}/polls", "status", "PollStatus"),
        ("/v1/communities/{cid}/followups", "status", "FollowupStatus"),
        ("/v1/communities/{cid}/inspections", "kind", "InspectionKind"),
        ("/v1/tickets", "category", "TicketCategory"),
        ("/v1/communities/{cid}/claims", "status", "ClaimStatus"),
    ]:
        param = next(p for p in spec()["paths"][path]["get"]["parameters"] if p["name"] == name)
        assert _ref(param["schema"]) == enum, (path, name)


# Fields whose values are genuinely open: no enum, on purpose.
OPEN_STRINGS = {
    "AttachmentOut.content_type": "a media type (image/jpeg, application/pdf): IANA's vocabulary, not ours",
    "AttachmentOut.owner_type": "attachments are generic over their owner; each area names its own",
    "FieldError.type": "pydantic's error type (missing, string_too_short, ...): its vocabulary, not ours",
    "PostOut.custom_category": "free text: the post's own name for category other",
    "RosterPost.custom_category": "free text: the post's own name for category other",
}
# Inline (unnamed) enums kept on purpose: a request that takes a subset of a named enum.
SUBSETS = {
    "DeviceUpdate.status": "an admin sets online or disabled; the rest of DeviceStatus is the server's",
    "OpenTicket.category": "the repair categories a duty post may raise (RepairCategory has more)",
    "TicketCreate.intake_channel": "the channels a person files by; inspection, alert, alarm are the server's",
}


def _enumish(field: str) -> bool:
    return field.endswith(ENUMISH) and not field.endswith("_label")


def _plain_enumish_fields() -> list[str]:
    """Request and response fields that publish a status / kind / role / ... as a plain string."""
    out = []
    for name, schema in spec()["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            plain = prop.get("type") == "string" or {"type": "string"} in prop.get("anyOf", [])
            fixed = "enum" in prop or "const" in prop  # a GeoJSON `type: "Point"` is a constant
            if _enumish(field) and plain and not fixed:
                out.append(f"{name}.{field}")
    return sorted(out)


def _inline_enumish_fields() -> list[str]:
    """Fields with an unnamed enum of several values: a generated client would get an anonymous union."""
    out = []
    for name, schema in spec()["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            options = [prop, *prop.get("anyOf", [])]
            if _enumish(field) and any(len(o.get("enum", ())) > 1 for o in options):
                out.append(f"{name}.{field}")
    return sorted(out)


# Query filters that are not one named enum, on purpose.
OPEN_PARAMS = {
    "GET /v1/communities/{cid}/alarms status": "a filter vocabulary (active, active_unacknowledged, ...)",
}


def _unnamed_enumish_params() -> list[str]:
    out = []
    for path, ops in spec()["paths"].items():
        for method, op in ops.items():
            for param in op.get("parameters", []):
                schema = param["schema"]
                options = [schema, *schema.get("anyOf", [])]
                options += [o["items"] for o in options if "items" in o]
                if _enumish(param["name"]) and not any("$ref" in o for o in options):
                    out.append(f"{method.upper()} {path} {param['name']}")
    return sorted(out)


def test_every_status_kind_role_category_is_a_named_enum() -> None:
    assert _plain_enumish_fields() == sorted(OPEN_STRINGS)
    assert _inline_enumish_fields() == sorted(SUBSETS)
    assert _unnamed_enumish_params() == sorted(OPEN_PARAMS)


def test_the_checks_can_fail() -> None:
    """The scan sees a plain string and an inline enum (guards against a scan that matches nothing)."""
    assert "FieldError.type" in _plain_enumish_fields()
    assert "TicketCreate.intake_channel" in _inline_enumish_fields()
    assert "GET /v1/communities/{cid}/alarms status" in _unnamed_enumish_params()
