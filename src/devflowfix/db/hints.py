"""Table hints on SQLite: `INDEXED BY` through SQLAlchemy's `with_hint`.

SQLAlchemy renders a statement's table hints only for dialects that declare
them, and its SQLite dialect declares none, so `with_hint(table, "INDEXED BY
ix", "sqlite")` would be dropped without a word. This hook writes the hint
after the table's name wherever the table appears in a FROM clause or a join.
Importing the module installs it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, Table, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler


@compiles(Table, "sqlite")
def _table_with_hint(element: Table, compiler: SQLCompiler, **kw: Any) -> str:
    rendered: str = compiler.visit_table(element, **kw)  # type: ignore[no-untyped-call]
    hints = kw.get("fromhints")
    if kw.get("asfrom") and hints and element in hints:
        return f"{rendered} {hints[element]}"
    return rendered


_PRESENT = "db.hints.indexes"
_INDEX_EXISTS = text(
    "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = :name"
)

SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])


def indexed_by(
    session: Session, query: SelectT, table: Any, index: str, *fallbacks: str
) -> SelectT:
    """`query` reading `table` through `index` on SQLite, when the index exists.

    A bulk load sets indexes aside for a while (search/maintenance.py), and
    SQLite refuses a statement whose `INDEXED BY` names a missing index; then
    the first of `fallbacks` that exists is named instead, or none. Other
    databases get `query` unchanged. What exists is looked up once per
    transaction.
    """
    if session.get_bind().dialect.name != "sqlite":
        return query
    transaction = session.get_transaction()
    known: tuple[object, dict[str, bool]] | None = session.info.get(_PRESENT)
    if known is None or known[0] is not transaction:
        known = (transaction, {})
        session.info[_PRESENT] = known
    for name in (index, *fallbacks):
        present = known[1].get(name)
        if present is None:
            present = session.scalar(_INDEX_EXISTS, {"name": name}) is not None
            known[1][name] = present
        if present:
            return query.with_hint(table, f"INDEXED BY {name}", "sqlite")
    return query
