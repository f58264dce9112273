"""The planner's stages on their own: arranging, fetch groups and their undo, @provides, the cost model."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from gateway.planner.arrange import arrange, in_sequence
from gateway.planner.cost import DEFAULT_WEIGHTS, CostModel, CostWeights, JumpChoice
from gateway.planner.groups import FetchGroup, FetchGroups, finished
from gateway.planner.nodes import FetchNode, ParallelNode, PlanNode, Representation, SelSet, SequenceNode
from gateway.planner.operation import OpField, OpFragment, OpSelection
from gateway.planner.printer import print_plan
from gateway.planner.provided import Provided
from gateway.supergraph import parse_supergraph

from .harness import FIXTURES

# -- arranging: no supergraph, only ids and dependencies ------------------------------------------


@dataclass(eq=False)
class _Step:
    id: int
    deps: set[_Step] = field(default_factory=set)

    def __hash__(self) -> int:
        return self.id


def _node(s: _Step) -> PlanNode:
    return FetchNode(subgraph=f"s{s.id}", operation="{x}", operation_kind="query", variable_usages=(),
                     selection=SelSet(), id=s.id)


def _shape(node: PlanNode | None) -> object:
    if isinstance(node, FetchNode):
        return node.id
    if isinstance(node, SequenceNode):
        return ("seq", *(_shape(n) for n in node.nodes))
    if isinstance(node, ParallelNode):
        return ("par", *(_shape(n) for n in node.nodes))
    return node


def _steps(n: int, edges: dict[int, list[int]]) -> list[_Step]:
    steps = [_Step(i) for i in range(n)]
    for i, ds in edges.items():
        steps[i].deps = {steps[d] for d in ds}
    return steps


def test_independent_fetches_run_in_parallel() -> None:
    assert _shape(arrange(_steps(3, {}), _node)) == ("par", 0, 1, 2)


def test_a_chain_is_a_sequence() -> None:
    assert _shape(arrange(_steps(3, {1: [0], 2: [1]}), _node)) == ("seq", 0, 1, 2)


def test_a_tree_runs_siblings_in_parallel_below_their_parent() -> None:
    assert _shape(arrange(_steps(4, {1: [0], 2: [0], 3: [2]}), _node)) == ("seq", 0, ("par", 1, ("seq", 2, 3)))


def test_a_fetch_with_two_inputs_waits_for_both_while_an_unrelated_chain_runs_beside() -> None:
    # 2 needs 0 and 1 (a diamond's bottom); 3 -> 4 is unrelated
    plan = arrange(_steps(5, {2: [0, 1], 4: [3]}), _node)
    assert _shape(plan) == ("par", ("seq", ("par", 0, 1), 2), ("seq", 3, 4))


def test_sections_run_one_after_the_other_and_empty_ones_vanish() -> None:
    a, b = _node(_Step(0)), _node(_Step(1))
    assert _shape(in_sequence([a, None, SequenceNode((b, a))])) == ("seq", 0, 1, 0)
    assert in_sequence([None]) is None
    assert in_sequence([a]) is a


# -- fetch groups: the undo covers every field -----------------------------------------------------


def test_restore_undoes_every_field_of_a_group_including_its_conditions() -> None:
    groups = FetchGroups()
    root = groups.new("a", (), is_entity=False)
    root.selset.add_field("x", "x")
    root.use(frozenset({("include", "v")}))
    snap = groups.snapshot()
    before = {f.name: getattr(root, f.name) for f in fields(FetchGroup) if f.name != "selset"}
    before = {k: (v.copy() if isinstance(v, set | dict | list) else v) for k, v in before.items()}

    other = groups.new("b", ("x",), is_entity=True)
    root.deps.add(other)
    root.reps["T"] = Representation(typename="T", selection=SelSet())
    root.rep_keys["T"] = "id"
    root.variables.add("v")
    root.root_fields.append("y")
    root.use(frozenset())
    root.selset.add_field("y", "y")
    groups.root_groups["b"] = other
    groups.restore(snap)

    assert groups.groups == [root] and groups.root_groups == {}
    assert {f.name: getattr(root, f.name) for f in fields(FetchGroup) if f.name != "selset"} == before
    assert root.conds == frozenset({("include", "v")})
    assert root.selset.print_compact() == "x"


def test_finished_drops_empty_groups_and_narrows_conditions_to_the_dependents() -> None:
    groups = FetchGroups()
    first = groups.new("a", (), is_entity=False)
    first.selset.add_field("x", "x")
    empty = groups.new("b", ("x",), is_entity=True)
    second = groups.new("c", ("x",), is_entity=True)
    second.selset.add_field("y", "y")
    second.deps = {first, empty}
    first.use(frozenset({("include", "v")}))
    second.use(frozenset())
    kept = finished(groups.groups)
    assert kept == [first, second] and second.deps == {first}
    assert first.conds == frozenset()


# -- @provides ---------------------------------------------------------------------------------------


def _always(_cond: str | None, _type: str) -> bool:
    return True


def test_provided_field_set_answers_what_is_covered_below_a_field() -> None:
    sels: list[OpSelection] = [
        OpField(response_name="author", name="author",
                selections=[OpField(response_name="username", name="username")]),
        OpFragment(type_condition="Book", selections=[OpField(response_name="isbn", name="isbn")]),
    ]
    provided = Provided.of(sels)

    def only_book(cond: str | None, type_name: str) -> bool:
        return cond in (None, type_name)

    author = provided.field("Review", "author", only_book)
    assert author is not None and author.field("User", "username", only_book) == Provided()
    assert provided.field("Book", "isbn", only_book) == Provided()
    assert provided.field("Movie", "isbn", only_book) is None
    assert provided.narrow("Movie", only_book).field("Movie", "isbn", only_book) is None
    assert provided.narrow("Book", _always).field("Book", "isbn", _always) == Provided()
    assert not Provided()


# -- the cost model ---------------------------------------------------------------------------------


def test_cost_weights_are_named_and_change_the_ranking_they_name() -> None:
    sg = parse_supergraph((FIXTURES / "products" / "supergraph.graphql").read_text())
    choice = JumpChoice(key_local=False, fetch_exists=False, selection_cost=3)
    assert CostModel(sg).jump_cost(choice) == DEFAULT_WEIGHTS.key_not_local + DEFAULT_WEIGHTS.new_fetch + 3
    assert CostModel(sg, CostWeights(key_not_local=10, new_fetch=0)).jump_cost(choice) == 13
    # topProducts' reviews live in another subgraph: one jump from products, none from reviews
    sels: list[OpSelection] = [OpField(response_name="reviews", name="reviews",
                    selections=[OpField(response_name="body", name="body")])]
    model = CostModel(sg)
    assert model.estimate("products", "Product", sels) == DEFAULT_WEIGHTS.jump
    assert model.estimate("reviews", "Product", sels) == 0
    assert CostModel(sg, CostWeights(jump=5)).estimate("products", "Product", sels) == 5


def test_the_planner_is_the_pipeline_of_its_stages() -> None:
    """The stages composed by hand give the plan ``QueryPlanner.plan`` gives."""
    from graphql import parse

    from gateway.planner import QueryPlanner, normalize_operation
    from gateway.planner.fetches import fetch_node
    from gateway.planner.roots import plan_fetch_groups

    sg = parse_supergraph((FIXTURES / "products" / "supergraph.graphql").read_text())
    doc = parse("{ topProducts { name reviews { body author { name } } } }")
    op = normalize_operation(doc, doc.definitions[0])  # type: ignore[arg-type]
    (groups,) = plan_fetch_groups(sg, op, CostModel(sg), {})
    by_hand = arrange(finished(groups), lambda g: fetch_node(g, op))
    assert print_plan(by_hand) == print_plan(QueryPlanner(sg).plan(op))
