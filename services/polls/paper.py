"""Paper ballots (纸质选票): for households without the app, the committee or staff type in a signed form.

A paper ballot is a ballot like any other: same answer checks, same one-per-household rule, same hash
chain (services.polls.chain), counted the same way in results. It differs in its channel ("paper"),
in having no voting user (the signer is on the form) and in carrying who recorded it and the sha256 of
the form's photo, both inside the chain's payload. The photo is kept as an attachment of the ballot.
A household that voted in the app cannot also get a paper ballot, and the other way round (409).
"""

from __future__ import annotations

import hashlib

from pydantic import TypeAdapter, ValidationError
from sqlmodel import select

from services import audit
from services.attachments.service import PreparedUpload, store_upload
from services.errors import Forbidden, InvalidInput
from services.models import Household, Role, utcnow
from services.models.polls import BallotChannel
from services.polls.ballots import append_ballot, check_answers, refuse_second_ballot
from services.polls.common import load_poll, load_questions, status_of
from services.polls.schemas import AnswerIn, PaperBallotOut
from services.runtime import Ctx

# Who may type in a signed form: the owners' side and the people at the desk or on the grid.
RECORDERS = frozenset(
    {
        Role.committee_member,
        Role.community_admin,
        Role.grid_worker,
        Role.property_manager,
        Role.property_staff,
    }
)
OWNER_TYPE, PURPOSE = "ballot", "paper_form"
_ANSWERS = TypeAdapter(list[AnswerIn])


def parse_answers(raw: str) -> list[AnswerIn]:
    """The multipart form carries the answers as a JSON array of {question_id, option_ids, text}."""
    try:
        answers = _ANSWERS.validate_json(raw)
    except ValidationError as exc:
        fields = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors(include_url=False)[:20]]
        raise InvalidInput("poll.answers_invalid", details={"fields": fields}) from None
    if len(answers) > 50:
        raise InvalidInput("poll.answers_invalid", details={"max_answers": 50})
    return answers


async def record_paper_ballot(
    ctx: Ctx, poll_id: int, household_id: int, raw_answers: str, form: PreparedUpload
) -> PaperBallotOut:
    p = ctx.require_principal()
    poll = await load_poll(ctx, poll_id)
    assert poll.id is not None
    if not (p.is_platform_admin or RECORDERS & p.roles_in(poll.community_id)):
        raise Forbidden("poll.paper_forbidden")
    home = (
        await ctx.session.exec(
            select(Household.id).where(
                Household.id == household_id, Household.community_id == poll.community_id
            )
        )
    ).first()
    if home is None:
        raise InvalidInput("poll.household_not_found", details={"household_id": household_id})
    now = utcnow()
    status = status_of(poll, now)
    if status != "open":
        raise InvalidInput("poll.not_open", details={"status": status})
    questions, options = await load_questions(ctx.session, poll.id)
    answers = check_answers(questions, options, parse_answers(raw_answers))
    await refuse_second_ballot(ctx.session, poll.id, household_id, BallotChannel.paper)
    ballot = await append_ballot(
        ctx.session,
        poll,
        household_id,
        None,
        BallotChannel.paper,
        answers,
        now,
        recorded_by=p.user_id,
        form_sha256=hashlib.sha256(form.data).hexdigest(),
    )
    assert ballot.id is not None
    photo = await store_upload(
        ctx,
        community_id=poll.community_id,
        owner_type=OWNER_TYPE,
        owner_id=ballot.id,
        purpose=PURPOSE,
        upload=form,
        max_count=1,
    )
    # On an anonymous poll the audit row names neither the household nor the ballot (as for app ballots).
    after = {
        "poll_id": poll.id,
        "household_id": None if poll.anonymous else household_id,
        "seq": ballot.seq,
        "hash": None if poll.anonymous else ballot.hash,
        "attachment_id": photo.id,
    }
    await audit.record(ctx, "ballot.paper", "poll", poll.id, community_id=poll.community_id, after=after)
    return PaperBallotOut(
        id=ballot.id,
        poll_id=poll.id,
        household_id=household_id,
        seq=ballot.seq,
        prev_hash=ballot.prev_hash,
        hash=ballot.hash,
        cast_at=ballot.cast_at,
        channel=ballot.channel,
        recorded_by_id=p.user_id,
        form_sha256=ballot.form_sha256 or "",
        form=photo,
    )
