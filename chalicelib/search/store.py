"""One ranked query over the firm's searchable rows. Each branch filters with ILIKE, which the trigram GIN
indexes serve, and ranks by word similarity; row-level security keeps it inside the firm."""
from __future__ import annotations

from typing import Any

from chalicelib.core.db import Tx
from chalicelib.core.pagination import like_pattern

_SEARCH = """
WITH hits AS (
    SELECT 'client_group' AS kind, id, name AS label, type AS detail, word_similarity(%(q)s, name) AS score
    FROM client_groups WHERE name ILIKE %(like)s
  UNION ALL
    SELECT 'product_owner', id, first_name || ' ' || surname,
           known_as, word_similarity(%(q)s, first_name || ' ' || surname || ' ' || coalesce(known_as, ''))
    FROM product_owners WHERE (first_name || ' ' || surname || ' ' || coalesce(known_as, '')) ILIKE %(like)s
  UNION ALL
    SELECT 'product', id, name, plan_number, greatest(word_similarity(%(q)s, name),
                                                      word_similarity(%(q)s, coalesce(plan_number, '')))
    FROM products WHERE name ILIKE %(like)s OR plan_number ILIKE %(like)s
  UNION ALL
    SELECT 'fund', id, name, isin, greatest(word_similarity(%(q)s, name), word_similarity(%(q)s, coalesce(isin, '')))
    FROM funds WHERE name ILIKE %(like)s OR isin ILIKE %(like)s
  UNION ALL
    SELECT 'provider', id, name, NULL, word_similarity(%(q)s, name) FROM providers WHERE name ILIKE %(like)s
)
SELECT kind, id, label, detail, score FROM hits WHERE (%(kind)s::text IS NULL OR kind = %(kind)s)
ORDER BY score DESC, label, id LIMIT %(limit)s
"""


def search(tx: Tx, q: str, kind: str | None, limit: int) -> list[dict[str, Any]]:
    return tx.all(_SEARCH, {"q": q, "like": like_pattern(q), "kind": kind, "limit": limit})
