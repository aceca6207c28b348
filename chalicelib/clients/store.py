"""SQL for client groups, product owners and membership. Row-level security scopes every query to the firm."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from chalicelib.core import rows
from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset, like_pattern

GROUP_COLUMNS = "id, name, type, status, adviser_id, notes, created_at, updated_at, version"
OWNER_COLUMNS = ("id, first_name, surname, known_as, date_of_birth, email, phone, status, inception_date, "
                 "retention_hold, erased_at, created_at, updated_at, version")


# --- client groups ---

def insert_group(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    return tx.one(f"INSERT INTO client_groups (firm_id, name, type, status, adviser_id, notes) "
                  f"VALUES (current_firm_id(), %(name)s, %(type)s, %(status)s, %(adviser_id)s, %(notes)s) "
                  f"RETURNING {GROUP_COLUMNS}", data)


def get_group(tx: Tx, group_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " FOR UPDATE" if for_update else ""
    return tx.one(f"SELECT {GROUP_COLUMNS} FROM client_groups WHERE id = %s{lock}", (group_id,))


def list_groups(tx: Tx, keyset: Keyset, *, status: str | None, type_: str | None, q: str | None,
                adviser_id: UUID | None) -> list[dict[str, Any]]:
    from psycopg import sql

    query = sql.SQL(
        "SELECT " + GROUP_COLUMNS + " FROM client_groups "
        "WHERE (%(status)s::text IS NULL OR status = %(status)s) "
        "AND (%(type)s::text IS NULL OR type = %(type)s) "
        "AND (%(adviser)s::uuid IS NULL OR adviser_id = %(adviser)s) "
        "AND (%(q)s::text IS NULL OR name ILIKE %(q)s) "
        "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(), order=keyset.order_by())
    return tx.all(query, {"status": status, "type": type_, "adviser": adviser_id, "q": like_pattern(q),
                          **keyset.params()})


_GROUP_FILTERS = ("(%(status)s::text IS NULL OR g.status = %(status)s) "
                  "AND (%(type)s::text IS NULL OR g.type = %(type)s) "
                  "AND (%(adviser)s::uuid IS NULL OR g.adviser_id = %(adviser)s) "
                  "AND (%(q)s::text IS NULL OR g.name ILIKE %(q)s)")
_FUM_COLUMNS = "f.funds_under_management, f.product_count, f.latest_valuation_date"


def list_groups_with_fum(tx: Tx, keyset: Keyset, *, status: str | None, type_: str | None, q: str | None,
                         adviser_id: UUID | None) -> list[dict[str, Any]]:
    """The list with each household's money from client_group_fum, which the database keeps in step with products
    and portfolio valuations in each writer's transaction (migration 0016: the rule is client_group_fum_of). In a
    client_groups order the page is cut by the plain list's query, then joined to its rows by key; in the fum
    order the page is read from client_group_fum's (firm, fum in pennies, household) index, its id exposed as `id`
    so that the keyset compares that index's columns (and seeks: bigint and uuid comparisons are leakproof)."""
    from psycopg import sql

    if keyset.sort.removeprefix("-") == "fum":
        columns = "f.client_group_id AS id, " + ", ".join("g." + c for c in GROUP_COLUMNS.split(", ")[1:])
        query = sql.SQL(
            "SELECT * FROM (SELECT " + columns + ", " + _FUM_COLUMNS + ", f.fum_pennies FROM client_group_fum f "
            "JOIN client_groups g ON g.id = f.client_group_id WHERE " + _GROUP_FILTERS + ") x "
            "WHERE {after} ORDER BY {order} LIMIT %(_ks_limit)s")
    else:
        query = sql.SQL(
            "SELECT g.*, " + _FUM_COLUMNS + " FROM (SELECT " + GROUP_COLUMNS + " FROM client_groups g WHERE "
            + _GROUP_FILTERS + " AND {after} ORDER BY {order} LIMIT %(_ks_limit)s) g "
            "JOIN client_group_fum f ON f.client_group_id = g.id ORDER BY {order}")
    query = query.format(after=keyset.where(), order=keyset.order_by())
    return tx.all(query, {"status": status, "type": type_, "adviser": adviser_id, "q": like_pattern(q),
                          **keyset.params()})


def update_group(tx: Tx, group_id: UUID, changes: dict[str, Any]) -> dict[str, Any]:
    return rows.update(tx, "client_groups", group_id, changes, GROUP_COLUMNS)


def delete_group(tx: Tx, group_id: UUID) -> None:
    tx.execute("DELETE FROM client_groups WHERE id = %s", (group_id,))


def group_member_count(tx: Tx, group_id: UUID) -> int:
    return tx.one("SELECT count(*) AS n FROM client_group_product_owners WHERE client_group_id = %s",
                  (group_id,))["n"]


def adviser_exists(tx: Tx, user_id: UUID) -> bool:
    return tx.one("SELECT EXISTS (SELECT 1 FROM users WHERE id = %s AND active "
                  "AND role IN ('admin', 'adviser')) AS ok", (user_id,))["ok"]


# --- product owners ---

def insert_owner(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    return tx.one(f"INSERT INTO product_owners (firm_id, first_name, surname, known_as, date_of_birth, email, "
                  f"phone, status, inception_date) VALUES (current_firm_id(), %(first_name)s, %(surname)s, "
                  f"%(known_as)s, %(date_of_birth)s, %(email)s, %(phone)s, %(status)s, "
                  f"coalesce(%(inception_date)s, CURRENT_DATE)) RETURNING {OWNER_COLUMNS}", data)


def get_owner(tx: Tx, owner_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " FOR UPDATE" if for_update else ""
    return tx.one(f"SELECT {OWNER_COLUMNS} FROM product_owners WHERE id = %s{lock}", (owner_id,))


def list_owners(tx: Tx, keyset: Keyset, *, status: str | None, q: str | None) -> list[dict[str, Any]]:
    from psycopg import sql

    query = sql.SQL(
        "SELECT " + OWNER_COLUMNS + " FROM product_owners "
        "WHERE (%(status)s::text IS NULL OR status = %(status)s) "
        "AND (%(q)s::text IS NULL OR first_name ILIKE %(q)s OR surname ILIKE %(q)s OR known_as ILIKE %(q)s) "
        "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(), order=keyset.order_by())
    return tx.all(query, {"status": status, "q": like_pattern(q), **keyset.params()})


def update_owner(tx: Tx, owner_id: UUID, changes: dict[str, Any]) -> dict[str, Any]:
    return rows.update(tx, "product_owners", owner_id, changes, OWNER_COLUMNS)


def delete_owner(tx: Tx, owner_id: UUID) -> None:
    tx.execute("DELETE FROM product_owners WHERE id = %s", (owner_id,))


def owner_group_count(tx: Tx, owner_id: UUID) -> int:
    return tx.one("SELECT count(*) AS n FROM client_group_product_owners WHERE product_owner_id = %s",
                  (owner_id,))["n"]


# --- membership ---

def add_member(tx: Tx, group_id: UUID, owner_id: UUID) -> dict[str, Any] | None:
    """None when the owner already belongs to the group."""
    return tx.one("INSERT INTO client_group_product_owners (firm_id, client_group_id, product_owner_id) "
                  "VALUES (current_firm_id(), %s, %s) ON CONFLICT DO NOTHING "
                  "RETURNING client_group_id, product_owner_id, created_at", (group_id, owner_id))


def remove_member(tx: Tx, group_id: UUID, owner_id: UUID) -> dict[str, Any] | None:
    return tx.one("DELETE FROM client_group_product_owners WHERE client_group_id = %s AND product_owner_id = %s "
                  "RETURNING client_group_id, product_owner_id, created_at", (group_id, owner_id))


def group_count(tx: Tx) -> int:
    return tx.one("SELECT count(*) AS n FROM client_groups")["n"]


# --- bulk loads (demo data): one INSERT ... SELECT FROM unnest per chunk, since row-level security forbids COPY ---

def bulk_insert_groups(tx: Tx, groups: list[dict[str, Any]]) -> None:
    """Each group: id, name, type, status, adviser_id, notes."""
    tx.execute(
        "INSERT INTO client_groups (id, firm_id, name, type, status, adviser_id, notes) "
        "SELECT u.id, current_firm_id(), u.name, u.type, u.status, u.adviser_id, u.notes FROM "
        "unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::uuid[], %s::text[]) "
        "AS u(id, name, type, status, adviser_id, notes)",
        tuple([g[key] for g in groups] for key in ("id", "name", "type", "status", "adviser_id", "notes")))


def bulk_insert_owners(tx: Tx, owners: list[dict[str, Any]]) -> None:
    """Each owner: id, first_name, surname, known_as, date_of_birth, email, phone, inception_date."""
    tx.execute(
        "INSERT INTO product_owners (id, firm_id, first_name, surname, known_as, date_of_birth, email, "
        "phone, inception_date) SELECT u.id, current_firm_id(), u.f, u.s, u.k, u.d, u.e, u.p, u.i FROM "
        "unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::date[], %s::text[], %s::text[], "
        "%s::date[]) AS u(id, f, s, k, d, e, p, i)",
        tuple([o[key] for o in owners] for key in ("id", "first_name", "surname", "known_as", "date_of_birth",
                                                   "email", "phone", "inception_date")))


def bulk_add_members(tx: Tx, links: list[tuple[UUID, UUID]]) -> None:
    """(client group id, product owner id) pairs."""
    tx.execute(
        "INSERT INTO client_group_product_owners (firm_id, client_group_id, product_owner_id) "
        "SELECT current_firm_id(), g, o FROM unnest(%s::uuid[], %s::uuid[]) AS u(g, o)",
        ([g for g, _ in links], [o for _, o in links]))


def list_members(tx: Tx, group_id: UUID) -> list[dict[str, Any]]:
    cols = ", ".join("o." + c.strip() for c in OWNER_COLUMNS.split(","))
    return tx.all(f"SELECT {cols} FROM client_group_product_owners m JOIN product_owners o "
                  "ON o.id = m.product_owner_id WHERE m.client_group_id = %s "
                  "ORDER BY o.inception_date, o.surname, o.first_name, o.id", (group_id,))
