"""SQL functions that differ by engine, compiled per dialect with no literal parameters.

SQLAlchemy's own aggregate_strings renders its separator as a literal-execute parameter, which makes
every execution of a cached statement go through post-compile processing; on a statement that runs
on every request that is a measurable cost (docs/benchmarks.md, the request floor).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class joined_ids(FunctionElement[str]):
    """Comma-joined integer ids of an aggregate ("1,7,12"); NULL over no rows."""

    type = sa.String()
    inherit_cache = True
    name = "joined_ids"


@compiles(joined_ids, "postgresql")
def _joined_ids_pg(element: joined_ids, compiler: Any, **kw: Any) -> str:
    return f"string_agg(CAST({compiler.process(element.clauses, **kw)} AS TEXT), ',')"


@compiles(joined_ids)
def _joined_ids_default(element: joined_ids, compiler: Any, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)}, ',')"
