"""SQL for a person's export and erasure: reads across the firm's tables for one product owner (row-level security
keeps it to the firm). The erasure's write goes through the clients store."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from chalicelib.core.db import Tx

# Their share of a product's ownership, in percent as text: all of it alone, their share as a tenant in common,
# the collective percentage they hold jointly with the others named.
_SHARE = ("CASE {o} ->> 'association_type' WHEN 'individual' THEN '100.00' "
          "WHEN 'tenants_in_common' THEN {o} -> 'shares' ->> %(id)s::text "
          "WHEN 'joint' THEN {o} ->> 'collective_percentage' END")

_EXPORT = """
WITH person AS (SELECT o.id FROM product_owners o WHERE o.id = %(id)s),
groups AS (SELECT g.* FROM client_groups g
           JOIN client_group_product_owners m ON m.client_group_id = g.id AND m.product_owner_id = %(id)s),
managed AS (SELECT p.* FROM products p WHERE ownership_owner_ids(p.ownership) @> ARRAY[%(id)s::uuid]),
unmanaged AS (SELECT u.* FROM unmanaged_products u WHERE ownership_owner_ids(u.ownership) @> ARRAY[%(id)s::uuid])
SELECT jsonb_build_object(
    'product_owner', (SELECT to_jsonb(o) - 'firm_id' FROM product_owners o WHERE o.id = %(id)s),
    'client_groups', coalesce((SELECT jsonb_agg((to_jsonb(g) - 'firm_id')
                                                || jsonb_build_object('member_since', m.created_at)
                                                ORDER BY g.name, g.id)
                               FROM groups g JOIN client_group_product_owners m
                               ON m.client_group_id = g.id AND m.product_owner_id = %(id)s), '[]'),
    'ownership', coalesce((SELECT jsonb_agg(x ORDER BY x ->> 'kind', x ->> 'product_name', x ->> 'product_id') FROM (
        SELECT jsonb_build_object('kind', 'managed', 'product_id', p.id, 'product_name', p.name,
                                  'status', p.status, 'association_type', p.ownership ->> 'association_type',
                                  'share', """ + _SHARE.format(o="p.ownership") + """) AS x FROM managed p
        UNION ALL
        SELECT jsonb_build_object('kind', 'unmanaged', 'product_id', u.id, 'product_name', u.name,
                                  'status', u.status, 'association_type', u.ownership ->> 'association_type',
                                  'share', """ + _SHARE.format(o="u.ownership") + """) FROM unmanaged u) s), '[]'),
    'products', coalesce((SELECT jsonb_agg(to_jsonb(p) - 'firm_id' ORDER BY p.name, p.id) FROM managed p), '[]'),
    'unmanaged_products', coalesce((SELECT jsonb_agg(to_jsonb(u) - 'firm_id' ORDER BY u.name, u.id)
                                    FROM unmanaged u), '[]'),
    'information_items', coalesce((SELECT jsonb_agg(to_jsonb(i) - 'firm_id' ORDER BY i.created_at, i.id)
                                   FROM information_items i WHERE i.associated_product_owners IS NOT NULL
                                   AND ownership_owner_ids(i.associated_product_owners) @> ARRAY[%(id)s::uuid]),
                                  '[]'),
    'actions', coalesce((SELECT jsonb_agg(to_jsonb(a) - 'firm_id' - 'target_date_order'
                                          ORDER BY a.created_at, a.id)
                         FROM actions a WHERE a.client_group_id IN (SELECT id FROM groups)), '[]'),
    'audit_events', coalesce((SELECT jsonb_agg(to_jsonb(e) - 'firm_id' - 'ip' - 'user_agent'
                                               ORDER BY e.occurred_at, e.id)
                              FROM audit_events e
                              WHERE (e.resource_type = 'product_owner' AND e.resource_id = %(id)s::text)
                                 OR (e.resource_type = 'client_group'
                                     AND e.action IN ('client_group.add_product_owner',
                                                      'client_group.remove_product_owner')
                                     AND %(id)s::text IN (e.after ->> 'product_owner_id',
                                                          e.before ->> 'product_owner_id'))), '[]')
) AS document FROM person
"""


def export_document(tx: Tx, owner_id: UUID) -> dict[str, Any] | None:
    """Everything the firm holds on the person, as one JSON object (None: no such person in the firm)."""
    row = tx.one(_EXPORT, {"id": owner_id})
    return row["document"] if row else None


def active_holdings_naming(tx: Tx, owner_id: UUID) -> list[dict[str, Any]]:
    """The active products, managed and unmanaged, whose ownership names the person."""
    return tx.all("SELECT 'product' AS kind, id, name FROM products WHERE status = 'active' "
                  "AND ownership_owner_ids(ownership) @> ARRAY[%(id)s::uuid] "
                  "UNION ALL SELECT 'unmanaged product', id, name FROM unmanaged_products WHERE status = 'active' "
                  "AND ownership_owner_ids(ownership) @> ARRAY[%(id)s::uuid] ORDER BY 1, 3, 2", {"id": owner_id})
