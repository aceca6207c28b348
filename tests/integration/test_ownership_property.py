"""Ownership is validated twice, independently: pydantic at the edge and ownership_is_valid() in the database
(called from the products CHECK). Property tests: for any document, both agree; valid ones sum to at most 100."""
import json
import uuid
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from chalicelib.products.holdings.models import Ownership, ownership_document
from tests.conftest import owner_sql

OWNERS = [str(uuid.UUID(int=i, version=4)) for i in range(1, 6)]
percent = st.one_of(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100"), places=2).map(lambda d: f"{d:.2f}"),
    st.sampled_from(["0", "0.00", "100.01", "-5", "abc", "1.234", "", "1e2"]),
    st.integers(0, 120),  # numbers, not strings: refused
)
owner_id = st.one_of(st.sampled_from(OWNERS), st.sampled_from(["not-a-uuid", "", "1"]))
individual = st.fixed_dictionaries({"association_type": st.just("individual"), "product_owner_id": owner_id})
tic = st.fixed_dictionaries({"association_type": st.just("tenants_in_common"),
                             "shares": st.dictionaries(owner_id, percent, max_size=4)})
joint = st.fixed_dictionaries({"association_type": st.just("joint"),
                               "joint_owners": st.lists(owner_id, max_size=4),
                               "collective_percentage": percent})
extra = st.dictionaries(st.sampled_from(["note", "shares"]), st.just(1), max_size=1)
documents = st.one_of(individual, tic, joint, st.tuples(st.one_of(individual, tic, joint), extra).map(
    lambda t: {**t[0], **t[1]}), st.fixed_dictionaries({"association_type": st.sampled_from(["sole", ""])}))

_ADAPTER = TypeAdapter(Ownership)


def _edge(document):
    """The stored document pydantic would write, or None when the edge refuses it."""
    try:
        return ownership_document(_ADAPTER.validate_python(document))
    except ValidationError:
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=documents)
def test_edge_and_database_agree(database, document):
    stored = _edge(document)
    if stored is not None:
        # What the edge writes, the database accepts; the shares the rules allow add up to at most 100.
        assert owner_sql("SELECT ownership_is_valid(%s::jsonb) AS ok", (json.dumps(stored),))[0]["ok"] is True
        if stored["association_type"] == "tenants_in_common":
            assert sum(Decimal(v) for v in stored["shares"].values()) <= 100
    # A document the edge refuses is refused by the database too when written as it came (raw SQL writers).
    else:
        assert owner_sql("SELECT ownership_is_valid(%s::jsonb) AS ok", (json.dumps(document),))[0]["ok"] is False


def test_database_refuses_a_bad_ownership_written_by_raw_sql(database, fresh_firm):
    import psycopg

    group = owner_sql("INSERT INTO client_groups (firm_id, name, type) VALUES (%s, 'Raw', 'couple') "
                      "RETURNING id", (fresh_firm.id,))[0]["id"]
    people = [owner_sql("INSERT INTO product_owners (firm_id, first_name, surname) VALUES (%s, %s, 'Raw') "
                        "RETURNING id", (fresh_firm.id, name))[0]["id"] for name in ("Ann", "Bob")]
    for person in people:
        owner_sql("INSERT INTO client_group_product_owners (firm_id, client_group_id, product_owner_id) "
                  "VALUES (%s, %s, %s)", (fresh_firm.id, group, person))
    insert = ("INSERT INTO products (firm_id, client_group_id, name, product_type, start_date, ownership) "
              "VALUES (%s, %s, 'Raw GIA', 'gia', '2024-01-01', %s::jsonb)")
    a, b = str(people[0]), str(people[1])
    for bad in ({"association_type": "tenants_in_common", "shares": {a: "70.00", b: "40.00"}},  # 110
                {"association_type": "joint", "joint_owners": [a], "collective_percentage": "100.00"},
                {"association_type": "individual", "product_owner_id": a, "shares": {}},
                {"association_type": "tenants_in_common", "shares": {a: 60, b: 40}}):  # numbers, not strings
        try:
            owner_sql(insert, (fresh_firm.id, group, json.dumps(bad)))
        except psycopg.errors.CheckViolation as exc:
            assert exc.diag.constraint_name == "products_ownership_check", exc
        else:
            raise AssertionError(f"the database accepted {bad}")
    good = {"association_type": "tenants_in_common", "shares": {a: "60.00", b: "30.00"}}  # 10% third parties
    owner_sql(insert, (fresh_firm.id, group, json.dumps(good)))
