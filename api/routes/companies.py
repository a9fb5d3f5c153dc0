from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import ObjectId
from api.idempotency import IdempotentDep
from services.communities import companies
from services.communities.schemas import CompanyCreate, CompanyOut, MemberCreate, MemberOut

router = APIRouter(prefix="/v1/companies", tags=["companies"])


@router.post("", status_code=201, response_model=CompanyOut, summary="Register a property company")
async def create_company(body: CompanyCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: companies.create_company(idem.ctx, body))


@router.post(
    "/{company_id}/members",
    status_code=201,
    response_model=MemberOut,
    summary="Invite property staff or a property manager by phone (account created for a new phone); "
    "the role holds once they accept under /v1/me/invitations",
)
async def add_member(company_id: ObjectId, body: MemberCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: companies.add_company_member(idem.ctx, company_id, body))
