"""Demand control (gateway/cost): the estimator's rules one by one, on a supergraph our composer made
from a Federation 2.9 subgraph with ``@cost`` / ``@listSize``, and the reference's own supergraph."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from gateway.composition import compose
from gateway.composition.subgraph import SubgraphSource
from gateway.cost import CostError, CostModel, DemandControl, DemandControlConfig, actual_cost
from gateway.cost.stage import ESTIMATES_PER_OPERATION
from gateway.supergraph import parse_supergraph

ROOT = Path(__file__).resolve().parents[2]

SUBGRAPH = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@cost", "@listSize"])

type Query {
  items(first: Int, last: Int): [Item!]! @listSize(slicingArguments: ["first", "last"])
  loose(first: Int, last: Int): [Item!]!
    @listSize(slicingArguments: ["first", "last"], requireOneSlicingArgument: false)
  fixed: [Item!]! @listSize(assumedSize: 5)
  plain: [Item!]!
  conn(first: Int!): ItemConnection! @listSize(slicingArguments: ["first"], sizedFields: ["edges"])
  search(term: String @cost(weight: 7)): Item
  heavy: Int @cost(weight: 25)
  node: Node
  tags: [String!]!
  money: Money
}

type Mutation { touch: Item }

interface Node { id: ID! }

type Item implements Node @key(fields: "id") {
  id: ID!
  name: String
  color: Color
  price: Money @cost(weight: 4)
  details: Details
}

type Details @cost(weight: 3) { text: String }

scalar Money @cost(weight: 2)

enum Color { RED }

type ItemConnection { edges: [ItemEdge!]! }

type ItemEdge { node: Item! }
"""


def _supergraph_sdl() -> str:
    result = compose([SubgraphSource("shop", "http://shop.example/graphql", SUBGRAPH)])
    assert result.errors == [], [str(e) for e in result.errors]
    assert result.supergraph_sdl is not None
    return result.supergraph_sdl


SUPERGRAPH = _supergraph_sdl()
SG = parse_supergraph(SUPERGRAPH)
MODEL = CostModel(SG.api_schema, SG.cost, DemandControlConfig().default_list_size)


def estimate(query: str, variables: dict[str, object] | None = None, model: CostModel = MODEL) -> float:
    doc = parse(query)
    op = next(d for d in doc.definitions if isinstance(d, OperationDefinitionNode))
    frags = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    return model.estimate(op, frags, variables).cost


def test_the_composed_supergraph_links_the_cost_spec() -> None:
    assert '@link(url: "https://specs.apollo.dev/cost/v0.1", import: ["@listSize"])' in SUPERGRAPH
    assert "heavy: Int @join__field(graph: SHOP) @cost(weight: 25)" in SUPERGRAPH or "@cost(weight: 25)" in SUPERGRAPH
    assert SG.cost.type_weights == {"Details": 3, "Money": 2}
    assert SG.cost.argument_weights == {"Query.search(term:)": 7}


@pytest.mark.parametrize(
    ("query", "cost"),
    [
        ("{ heavy }", 25),  # @cost on a field
        ("{ tags }", 0),  # scalars weigh 0, a list of them too
        ("{ money }", 2),  # @cost on a scalar type
        ("{ search { id name color } }", 1),  # an object 1, scalars and enums 0
        ("{ search { price } }", 5),  # the field's @cost(4) overrides Money's 2
        ("{ search { details { text } } }", 4),  # @cost(3) on an object type
        ('{ search(term: "x") { id } }', 8),  # argument weight counted when the argument is given
        ("{ node { id } }", 1),  # interfaces weigh as objects
        ("{ fixed { id } }", 5),  # assumedSize
        ("{ plain { id } }", 10),  # no @listSize: the default list size
        ("{ items(first: 3) { id } }", 3),  # the slicing argument's value
        ("{ items(last: 2) { details { text } } }", 2 * 4),
        ("{ loose { id } }", 10),  # no slicing argument given, not required: default size
        ("{ loose(first: 2, last: 6) { id } }", 6),  # several given: the largest
        ("{ conn(first: 4) { edges { node { id } } } }", 1 + 4 * 2),  # sizedFields
        ("mutation { touch { id } }", 10 + 1),  # a mutation's base cost
        ("{ search { ...D } } fragment D on Item { details { text } }", 4),  # fragments
        ("{ search { ... on Item { price } } }", 5),
        ("{ __typename search { __typename } }", 1),
    ],
)
def test_estimate(query: str, cost: float) -> None:
    assert estimate(query) == cost


def test_slicing_argument_from_a_variable() -> None:
    q = "query($n: Int) { items(first: $n) { id } }"
    assert estimate(q, {"n": 7}) == 7
    doc = parse(q)
    op = doc.definitions[0]
    assert isinstance(op, OperationDefinitionNode)
    assert MODEL.estimate(op, {}, {"n": 7}).uses_variables
    assert not MODEL.estimate(parse("{ fixed { id } }").definitions[0], {}, None).uses_variables  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "query",
    ["{ items { id } }", "{ items(first: 1, last: 2) { id } }", "{ items(first: null) { id } }"],
)
def test_require_one_slicing_argument(query: str) -> None:
    with pytest.raises(CostError, match="Exactly one slicing argument"):
        estimate(query)


def test_default_list_size_is_configurable() -> None:
    model = CostModel(SG.api_schema, SG.cost, 3)
    assert estimate("{ plain { id } }", model=model) == 3


def test_actual_cost_counts_real_list_lengths() -> None:
    doc = parse("{ fixed { id details { text } } plain { id } money }")
    op = doc.definitions[0]
    assert isinstance(op, OperationDefinitionNode)
    data = {"fixed": [{"id": "1", "details": {"text": "a"}}, {"id": "2", "details": None}], "plain": [], "money": 1}
    # two items (1 each) + one Details (3) + no plain items + Money (2)
    assert actual_cost(MODEL, op, {}, data) == 1 + 3 + 1 + 0 + 2


def test_the_reference_supergraph_is_read() -> None:
    """Apollo's own supergraph of the demand-control corpus case carries the same annotations."""
    sdl = (ROOT / "tests/composition/cases/demand-control/expected-supergraph.graphql").read_text()
    sg = parse_supergraph(sdl)
    assert sg.cost.type_weights == {"Color": 4, "Money": 3, "Product": 2}
    assert sg.cost.field_weights["Query.expensive"] == 25
    model = CostModel(sg.api_schema, sg.cost, 10)
    assert estimate("{ featured { id price } }", model=model) == 5 * (2 + 5)
    assert estimate("{ catalog(first: 3) { edges { node { tags } } } }", model=model) == 1 + 3 * (1 + 2 + 0)
    assert estimate("mutation { rebuild }", model=model) == 10 + 40


def test_fields_merge_as_execution_merges_them() -> None:
    """The same response key selected twice, or a fragment spread twice, costs once (selections joined)."""
    assert estimate("{ search { id } search { details { text } } }") == 1 + 3
    assert estimate("{ search { ...D ...D } } fragment D on Item { details { text } }") == 4
    assert estimate("{ a: heavy b: heavy }") == 50  # two response keys


def test_a_fragment_bomb_is_estimated_in_linear_time() -> None:
    levels = 40  # 2**40 paths when fragments are expanded naively
    frags = [f"fragment F{i} on Item {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    frags.append(f"fragment F{levels} on Item {{ details {{ text }} }}")
    assert estimate("{ fixed { ...F0 } }\n" + "\n".join(frags)) == 5 * (1 + 3)
    doc = parse("{ fixed { ...F0 } }\n" + "\n".join(frags))
    op = doc.definitions[0]
    assert isinstance(op, OperationDefinitionNode)
    frag_defs = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    data = {"fixed": [{"details": {"text": "x"}}] * 3}
    assert actual_cost(MODEL, op, frag_defs, data) == 3 * (1 + 3)


def test_our_supergraph_carries_the_list_sizes() -> None:
    """`make schema` composes the subgraphs' @listSize (subgraphs.common.pagination.page_size) through."""
    sg = parse_supergraph((ROOT / "schema/supergraph.graphql").read_text())
    for coord in ("Query.products", "Query.users", "Query.tenants", "Query.templates", "Query.catalogAuditLog"):
        spec = sg.cost.list_sizes[coord]
        assert spec.slicing_arguments == ("first",) and spec.sized_fields == ("edges", "nodes")
        assert spec.assumed_size == 20 and not spec.require_one_slicing_argument
    model = CostModel(sg.api_schema, sg.cost, 10)
    assert estimate("{ products(first: 5) { totalCount edges { node { id } } } }", model=model) == 1 + 5 * 2
    assert estimate("{ products { nodes { id } } }", model=model) == 1 + 20


def test_an_estimate_decided_by_variables_is_kept_per_values() -> None:
    control = DemandControl(SG.api_schema, SG.cost, DemandControlConfig())
    doc = parse("query($n: Int) { items(first: $n) { id } }")
    op = doc.definitions[0]
    assert isinstance(op, OperationDefinitionNode)
    prepared = control.prepare(doc, op)
    assert prepared is not None and prepared.static is None
    assert [control.check(prepared, op, {"n": n}).estimated for n in (7, 7, 50, 7)] == [7, 7, 50, 7]
    assert len(prepared.estimates) == 2  # one per distinct set of values
    assert control.stats.count == 4  # every request is still observed
    refused = control.check(prepared, op, {"n": None})  # no slicing argument given: refused, not kept
    assert refused.error is not None and refused.error["extensions"]["code"] == CostError.code
    assert len(prepared.estimates) == 2
    for n in range(100):
        assert control.check(prepared, op, {"n": n}).estimated == n
    assert len(prepared.estimates) == ESTIMATES_PER_OPERATION  # bounded
