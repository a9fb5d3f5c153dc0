"""Complaints: the manager's valid/invalid call and the committee's dispute of an invalid call.

The effective-complaint KPI counts complaints with complaint_valid = true; an invalid call the
committee disputes stays visible to it (filter `valid=false`) with the dispute beside it. Which
tickets allow the two actions (complaints; an invalid call) is guarded in actions.py.
"""

from __future__ import annotations

from services.errors import InvalidInput
from services.tickets import people
from services.tickets.transitions import Call, Outcome, handles, require_text


@handles("classify")
async def _classify(call: Call) -> Outcome:
    if call.body.valid is None:
        raise InvalidInput("ticket.validity_required")
    reason = require_text(call.body.reason)
    return Outcome(
        values={
            "complaint_valid": call.body.valid,
            "validity_reason": reason,
            "classified_by_id": call.actor_id,
            "classified_at": call.now,
        },
        reason=reason,
        data={"valid": call.body.valid, "previous": call.ticket.complaint_valid},
        # The complainant hears the verdict and the manager's reason for it.
        notify=[
            (
                [call.ticket.reporter_id],
                "ticket.classified_valid" if call.body.valid else "ticket.classified_invalid",
            )
        ],
    )


@handles("dispute")
async def _dispute(call: Call) -> Outcome:
    reason = require_text(call.body.reason)
    managers = await people.managers(call.session, call.ticket.community_id)
    return Outcome(
        values={"disputed_by_id": call.actor_id, "disputed_at": call.now, "dispute_reason": reason},
        reason=reason,
        notify=[(list(managers), "ticket.disputed")],
    )
