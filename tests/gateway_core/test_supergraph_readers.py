"""The supergraph's readers on their own: @link, one reader per join directive, the shared vocabulary."""

from __future__ import annotations

import pytest
from graphql import DirectiveNode, ObjectTypeDefinitionNode, parse

from gateway.composition import fieldset as composition_fieldset
from gateway.composition import merge_directives
from gateway.supergraph import SupergraphError, parse_supergraph
from gateway.supergraph.api_schema import EXECUTABLE_LOCATIONS
from gateway.supergraph.fieldset import FieldSetSyntaxError, parse_field_set
from gateway.supergraph.join import Graphs, JoinNames, read_join_field, read_join_graphs, read_join_type
from gateway.supergraph.links import read_links, supergraph_specs
from gateway.supergraph.model import FieldDef, Subgraph, TypeDef

from .harness import FIXTURES


def test_links_with_aliases_imports_and_a_renamed_link() -> None:
    doc = parse('''
      schema
        @link(url: "https://specs.apollo.dev/link/v1.0", as: "mylink")
        @mylink(url: "https://specs.apollo.dev/join/v0.3", as: "j", for: EXECUTION)
        @mylink(url: "https://specs.apollo.dev/inaccessible/v0.2", import: [{name: "@inaccessible", as: "@hidden"}])
        @mylink(url: "https://acme.example/trace/v1.0", import: ["@trace", "Level"])
      { query: Query }
      type Query { a: Int }
    ''')
    links = read_links(doc)
    assert [(ln.directive, ln.spec, ln.prefix, ln.version) for ln in links] == [
        ("link", "link", "mylink", (1, 0)),
        ("mylink", "join", "j", (0, 3)),
        ("mylink", "inaccessible", "inaccessible", (0, 2)),
        ("mylink", "trace", "trace", (1, 0)),
    ]
    assert [(i.name, i.local_name, i.is_directive) for i in links[3].imports] == [
        ("@trace", "trace", True), ("Level", "Level", False)]
    assert not links[3].is_apollo_spec and links[1].is_apollo_spec


def test_federation_1_core_features_are_links_too() -> None:
    sg_text = (FIXTURES / "fed1" / "supergraph-v0.1.graphql").read_text()
    links = read_links(parse(sg_text))
    assert links and all(ln.from_feature for ln in links)
    specs = supergraph_specs(parse(sg_text))
    assert specs.join == "join" and specs.join_version == (0, 1)


def _graphs() -> Graphs:
    return Graphs(subgraphs={"a": Subgraph(name="a", enum_value="A", url="http://a")}, by_enum={"A": "a"})


def _directive(text: str) -> DirectiveNode:
    definition = parse(f"type T {text} {{ f: Int }}").definitions[0]
    assert isinstance(definition, ObjectTypeDefinitionNode) and definition.directives
    return definition.directives[0]


def test_join_type_reads_keys_and_flags_for_one_subgraph() -> None:
    td = TypeDef(name="T", kind="object")
    read_join_type(td, _directive('@join__type(graph: A, key: "id", resolvable: false, isInterfaceObject: true)'),
                   _graphs())
    (key,) = td.graphs["a"].keys
    assert key.fields == "id" and not key.resolvable and td.graphs["a"].is_interface_object
    with pytest.raises(SupergraphError, match="unknown graph 'B'"):
        read_join_type(td, _directive("@join__type(graph: B)"), _graphs())
    with pytest.raises(SupergraphError, match="invalid field set"):
        read_join_type(td, _directive('@join__type(graph: A, key: "id {")'), _graphs())


def test_join_field_without_a_graph_lives_in_no_subgraph() -> None:
    fd = FieldDef(name="f", parent="T", type="Int")
    read_join_field(fd, _directive("@join__field"), _graphs())
    assert fd.no_graph and fd.graphs is None
    read_join_field(fd, _directive('@join__field(graph: A, requires: "x", overrideLabel: "percent(5)")'), _graphs())
    assert fd.graphs is not None and fd.graphs["a"].requires is not None and fd.graphs["a"].override_label


def test_join_graphs_come_from_the_graph_enum() -> None:
    doc = parse((FIXTURES / "products" / "supergraph.graphql").read_text())
    graphs = read_join_graphs(doc, JoinNames("join"))
    assert list(graphs.subgraphs) == list(parse_supergraph(
        (FIXTURES / "products" / "supergraph.graphql").read_text()).subgraphs)


def test_one_vocabulary_for_both_worlds() -> None:
    # one field-set parser, one set of executable locations
    assert composition_fieldset.parse_field_set is parse_field_set
    assert merge_directives.EXECUTABLE_LOCATIONS is EXECUTABLE_LOCATIONS
    with pytest.raises(FieldSetSyntaxError):
        parse_field_set("id } { x")
