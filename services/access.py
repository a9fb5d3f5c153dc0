"""The one place that turns a principal into permissions and query filters.

Outside your communities a record does not exist (404); inside, the wrong role gets 403.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel.ext.asyncio.session import AsyncSession

from services.driver_sql import DriverStatement, as_loaded, in_values
from services.errors import Forbidden, NotFound, Unauthorized
from services.models import ManagementContract, Membership, MembershipStatus, Role, User
from services.sql_functions import joined_ids


@dataclass(frozen=True)
class Principal:
    user: User
    is_platform_admin: bool = False
    # Verified roles per community, including property roles inherited through active contracts.
    community_roles: Mapping[int, frozenset[str]] = field(default_factory=dict)
    company_roles: Mapping[int, frozenset[str]] = field(default_factory=dict)
    # Verified resident households per community, with the relation (owner / tenant / family).
    households: Mapping[int, Mapping[int, str]] = field(default_factory=dict)
    # Communities where the user only has a pending claim. They grant nothing: a claimant sees only
    # their claim's status (GET /v1/me/memberships, /v1/communities) until an approver verifies it.
    pending_communities: frozenset[int] = frozenset()
    # Communities a street office (街道) oversees: read-only. Deliberately not in community_roles, so
    # every existing check treats them as outside (nothing writable by construction); require_community
    # answers 403 access.read_only there, and the map opens them through map_filter / require_map_reader.
    street_office_communities: frozenset[int] = frozenset()

    @property
    def user_id(self) -> int:
        assert self.user.id is not None
        return self.user.id

    def roles_in(self, community_id: int) -> frozenset[str]:
        return self.community_roles.get(community_id, frozenset())

    @property
    def member_community_ids(self) -> frozenset[int]:
        return frozenset(self.community_roles)


_M = Membership.__table__.c  # type: ignore[attr-defined]
_MC = ManagementContract.__table__.c  # type: ignore[attr-defined]
# The communities a company membership's company manages today (contracts in force), folded into
# the principal's one statement as "1,7,12": property staff would otherwise pay a second round trip
# on every request.
_MANAGED_TODAY = (
    sa.select(joined_ids(_MC.community_id))
    .where(
        _MC.company_id == _M.company_id,
        _MC.starts_on <= sa.bindparam("today"),
        sa.or_(_MC.ends_on.is_(None), _MC.ends_on >= sa.bindparam("today")),
    )
    .correlate(Membership.__table__)  # type: ignore[attr-defined]
    .scalar_subquery()
)
_U = User.__table__.c  # type: ignore[attr-defined]
_USER_COLUMNS = tuple(c.key for c in _U)
# Built once (bound parameters) and run on the driver (services.driver_sql): this runs on every
# authenticated request.
_USER_AND_MEMBERSHIPS = DriverStatement(
    lambda _dialect: (
        sa.select(
            *_U,
            _M.role,
            _M.status,
            _M.community_id,
            _M.company_id,
            _M.household_id,
            _M.relation,
            sa.case((_M.company_id.is_not(None), _MANAGED_TODAY)),
        )
        .select_from(User.__table__)  # type: ignore[attr-defined]
        .outerjoin(
            Membership.__table__,  # type: ignore[attr-defined]
            # Two equalities, not IN: one constant statement.
            sa.and_(
                _M.user_id == _U.id,
                sa.or_(_M.status == MembershipStatus.verified, _M.status == MembershipStatus.pending),
            ),
        )
        .where(_U.id == sa.bindparam("user_id"))
    )
)


async def load_principal(session: AsyncSession, user_id: int) -> Principal:
    """The user, their memberships and, for property staff, the communities their companies manage
    today: one statement."""
    params = {"user_id": user_id, "today": date.today()}
    rows = await _USER_AND_MEMBERSHIPS.rows(session, params)
    if not rows:
        raise Unauthorized("auth.invalid_token")
    n = len(_USER_COLUMNS)
    user = as_loaded(session, User, dict(zip(_USER_COLUMNS, rows[0][:n], strict=True)))
    if user.disabled_at is not None:
        raise Unauthorized("auth.user_disabled")
    community_roles: dict[int, set[str]] = defaultdict(set)
    company_roles: dict[int, set[str]] = defaultdict(set)
    managed: dict[int, set[int]] = defaultdict(set)
    households: dict[int, dict[int, str]] = defaultdict(dict)
    pending: set[int] = set()
    street: set[int] = set()
    platform_admin = False
    for row in rows:
        role, status, community_id, company_id, household_id, relation, managed_ids = row[n:]
        if role is None:  # no membership at all
            continue
        if status == MembershipStatus.pending:
            if community_id is not None:
                pending.add(community_id)
            continue
        if role == Role.platform_admin:
            platform_admin = True
        elif role == Role.street_office:
            if community_id is not None:
                street.add(community_id)
        elif company_id is not None:
            company_roles[company_id].add(role)
            if managed_ids:
                managed[company_id].update(int(c) for c in managed_ids.split(","))
        elif community_id is not None:
            community_roles[community_id].add(role)
            if role == Role.resident and household_id is not None:
                households[community_id][household_id] = relation or ""
    # Property roles reach the communities their company manages under an active contract.
    for company_id, communities in managed.items():
        for community_id in communities:
            community_roles[community_id] |= company_roles[company_id]
    return Principal(
        user=user,
        is_platform_admin=platform_admin,
        community_roles={k: frozenset(v) for k, v in community_roles.items()},
        company_roles={k: frozenset(v) for k, v in company_roles.items()},
        households={k: dict(v) for k, v in households.items()},
        pending_communities=frozenset(pending - set(community_roles)),
        street_office_communities=frozenset(street),
    )


def community_filter(principal: Principal, column: Any) -> Any:
    """A WHERE clause limiting `column` (a community id) to the communities where the principal holds
    a verified role. A pending claim is not one: it would open the community to anyone who claims."""
    if principal.is_platform_admin:
        return sa.true()
    ids = principal.member_community_ids
    return column.in_(sorted(ids)) if ids else sa.false()


def filter_shape(principal: Principal) -> str:
    """Which form community_filter takes for this principal: for statements built once per shape."""
    if principal.is_platform_admin:
        return "all"
    return "some" if principal.member_community_ids else "none"


def bound_community_filter(shape: str, column: Any, dialect: Dialect) -> Any:
    """community_filter for a statement built once: the ids bind as the parameter `communities`
    (sorted(principal.member_community_ids), services.driver_sql.in_values) when the shape is "some"."""
    if shape == "all":
        return sa.true()
    return in_values(column, "communities", dialect) if shape == "some" else sa.false()


def claims_filter(principal: Principal, column: Any) -> Any:
    """Communities where the principal holds a role or only a pending claim: for listing the
    claimant's own communities with their claim status, never for reading their content."""
    if principal.is_platform_admin:
        return sa.true()
    ids = principal.member_community_ids | principal.pending_communities
    return column.in_(sorted(ids)) if ids else sa.false()


def require_community(principal: Principal, community_id: int, roles: Iterable[str] = ()) -> None:
    """404 when the community is outside the principal's reach; 403 when no listed role is held."""
    if principal.is_platform_admin:
        return
    if community_id not in principal.member_community_ids:
        if community_id in principal.street_office_communities:
            raise Forbidden("access.read_only")
        raise NotFound("community.not_found")
    wanted = set(roles)
    if wanted and not (wanted & principal.roles_in(community_id)):
        raise Forbidden()


def map_filter(principal: Principal, column: Any) -> Any:
    """Communities on the caller's map: their own (roles, contracts, home) and those their street
    office oversees; every community for a platform admin."""
    if principal.is_platform_admin:
        return sa.true()
    ids = principal.member_community_ids | principal.street_office_communities
    return column.in_(sorted(ids)) if ids else sa.false()


def require_map_reader(principal: Principal, community_id: int) -> None:
    """404 unless the community is on the caller's map (see map_filter)."""
    if principal.is_platform_admin:
        return
    if community_id not in principal.member_community_ids | principal.street_office_communities:
        raise NotFound("community.not_found")


def require_company(principal: Principal, company_id: int, roles: Iterable[str] = ()) -> None:
    if principal.is_platform_admin:
        return
    held = principal.company_roles.get(company_id)
    if held is None:
        raise NotFound("company.not_found")
    wanted = set(roles)
    if wanted and not (wanted & held):
        raise Forbidden()


def require_platform_admin(principal: Principal) -> None:
    if not principal.is_platform_admin:
        raise Forbidden()


def require_verified_resident(
    principal: Principal,
    community_id: int,
    household_id: int | None = None,
    relations: Iterable[str] = (),
) -> None:
    """Filing tickets and voting need a verified household; unverified users may only read."""
    require_community(principal, community_id)
    homes = principal.households.get(community_id, {})
    if household_id is None:
        ok = bool(homes) and (not relations or bool(set(relations) & set(homes.values())))
    else:
        relation = homes.get(household_id)
        ok = relation is not None and (not relations or relation in set(relations))
    if not ok:
        raise Forbidden("access.unverified")


MANAGE_COMMUNITY = (Role.community_admin,)
# Who decides who votes: the community admin and the owners' committee, never the property company
# (it may be the subject of a vote, e.g. renewing its contract).
APPROVE_CLAIMS = (Role.committee_member, Role.community_admin)
