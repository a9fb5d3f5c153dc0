"""One head for every area: the areas branched from the notifications revision; later revisions build on this

Revision ID: 0a11a2ea5001
Revises: b5a1c0de5a01, c7a77ac4e001, e2a0b1c2d301, f3b1c2d3e401, a4c2d3e4f501, b6d3e4f5a601
Create Date: 2026-11-27 00:54:03.778046+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import services.models.base
from alembic import op

revision: str = '0a11a2ea5001'
down_revision: str | None = ('b5a1c0de5a01', 'c7a77ac4e001', 'e2a0b1c2d301', 'f3b1c2d3e401', 'a4c2d3e4f501', 'b6d3e4f5a601')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
