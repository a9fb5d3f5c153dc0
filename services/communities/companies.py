"""Property companies, their management contracts with communities, and their staff."""

from __future__ import annotations

from sqlmodel import select

from services import access, audit
from services.communities.common import flush_unique, load_community
from services.communities.members import audit_view, invite, member_out
from services.communities.schemas import (
    CompanyCreate,
    CompanyOut,
    ContractCreate,
    ContractOut,
    MemberCreate,
    MemberOut,
)
from services.errors import Conflict, InvalidInput, NotFound
from services.models import COMPANY_ROLES, ManagementContract, PropertyCompany, Role
from services.runtime import Ctx


async def create_company(ctx: Ctx, body: CompanyCreate) -> CompanyOut:
    access.require_platform_admin(ctx.require_principal())
    taken = (
        await ctx.session.exec(select(PropertyCompany.id).where(PropertyCompany.name == body.name))
    ).first()
    if taken is not None:
        raise Conflict("company.name_taken")
    row = PropertyCompany(**body.model_dump())
    ctx.session.add(row)
    await flush_unique(ctx, "company.name_taken")
    out = CompanyOut.model_validate(row)
    await audit.record(ctx, "company.create", "property_company", row.id, after=out.model_dump())
    return out


async def _company(ctx: Ctx, company_id: int) -> PropertyCompany:
    row = await ctx.session.get(PropertyCompany, company_id)
    if row is None:
        raise NotFound("company.not_found")
    return row


async def create_contract(ctx: Ctx, community_id: int, body: ContractCreate) -> ContractOut:
    """A company manages a community from starts_on to ends_on (open-ended when missing).

    A contract gives the company's staff the community and the company's dashboard the community's
    figures, so both sides consent: the platform admin, or someone who is both this community's admin
    and the company's property manager. Anyone else naming a company gets 404 company.not_found, as
    for a company that does not exist (a 403 would confirm another tenant's company id)."""
    p = ctx.require_principal()
    access.require_community(p, community_id, access.MANAGE_COMMUNITY)
    await load_community(ctx, community_id)
    if body.ends_on is not None and body.ends_on < body.starts_on:
        raise InvalidInput("contract.invalid_dates")
    access.require_company(p, body.company_id, (Role.property_manager,))
    await _company(ctx, body.company_id)
    row = ManagementContract(
        company_id=body.company_id,
        community_id=community_id,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
    )
    ctx.session.add(row)
    await ctx.session.flush()
    out = ContractOut.model_validate(row)
    await audit.record(
        ctx,
        "contract.create",
        "management_contract",
        row.id,
        community_id=community_id,
        after=out.model_dump(),
    )
    return out


async def add_company_member(ctx: Ctx, company_id: int, body: MemberCreate) -> MemberOut:
    """Platform admins or the company's property managers invite property staff and managers."""
    access.require_company(ctx.require_principal(), company_id, (Role.property_manager,))
    await _company(ctx, company_id)
    if body.role not in COMPANY_ROLES:
        raise InvalidInput("membership.invalid_role", details={"allowed": sorted(COMPANY_ROLES)})
    m, user = await invite(ctx, body.phone, body.name, body.password, body.role, company_id=company_id)
    out = member_out(m, user)
    await audit.record(ctx, "membership.create", "membership", m.id, after=audit_view(out))
    return out
