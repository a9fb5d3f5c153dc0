"""The ticket's category enum is spelled out for the OpenAPI (one named enum for generated clients);
it must stay exactly the union of what a repair and a complaint take, or TicketCreate would accept a
category no kind allows (or refuse one a kind does)."""

from typing import get_args

from services.tickets.schemas import CATEGORIES, TicketCategory


def test_ticket_category_is_the_union_of_the_kinds_categories() -> None:
    spelled = get_args(TicketCategory.__value__)
    union = set(CATEGORIES["repair"]) | set(CATEGORIES["complaint"])
    assert len(spelled) == len(set(spelled))
    assert set(spelled) == union
