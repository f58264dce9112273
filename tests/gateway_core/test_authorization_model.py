"""The supergraph's reading of the authorization directives, and the stage's settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.authorization import AuthorizationConfig, analyze
from gateway.planner import normalize_operation
from gateway.runtime import Gateway
from gateway.serve import gateway_runtime_factory
from gateway.settings import Settings, SettingsError
from gateway.supergraph import AuthRequirements, parse_supergraph

AUTHZ = Path(__file__).parent / "fixtures" / "authz" / "supergraph.graphql"

RENAMED = """schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)
  @link(url: "https://specs.apollo.dev/authenticated/v0.1", as: "mustLogIn", for: SECURITY)
  @link(url: "https://specs.apollo.dev/requiresScopes/v0.1", for: SECURITY)
{
  query: Query
}
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, \
external: Boolean, override: String, usedOverridden: Boolean) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, \
resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM \
| INPUT_OBJECT | SCALAR
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
directive @mustLogIn on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
directive @requiresScopes(scopes: [[requiresScopes__Scope!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
scalar join__FieldSet
scalar link__Import
scalar requiresScopes__Scope
enum link__Purpose { SECURITY EXECUTION }
enum join__Graph { A @join__graph(name: "a", url: "http://a.invalid") }
type Query @join__type(graph: A) {
  me: String @mustLogIn
  open: String @requiresScopes(scopes: [])
  both: String @requiresScopes(scopes: [["x"]]) @requiresScopes(scopes: [["y"], ["z"]])
}
"""


def test_directives_are_read_by_their_linked_names() -> None:
    sg = parse_supergraph(RENAMED)
    fields = sg.types["Query"].fields
    assert fields["me"].auth == AuthRequirements(authenticated=True)
    assert fields["open"].auth is None  # an empty outer list asks for nothing, as in Apollo Router
    # a repeated directive ANDs
    assert fields["both"].auth == AuthRequirements(scopes=(frozenset({"x", "y"}), frozenset({"x", "z"})))
    assert "mustLogIn" not in str(sg.api_schema.directives)
    assert sg.policy_names == frozenset()


def test_type_and_field_requirements_of_the_fixture() -> None:
    sg = parse_supergraph(AUTHZ.read_text())
    assert sg.types["Vault"].auth == AuthRequirements(authenticated=True)
    assert sg.types["Grade"].auth == AuthRequirements(scopes=(frozenset({"grades:read"}),))
    assert sg.field_def("Product", "cost").auth == AuthRequirements(
        scopes=(frozenset({"catalog:cost", "finance"}), frozenset({"admin"}))
    )
    assert "passport:publish" in sg.policy_names


def test_checks_are_computed_once_with_their_paths() -> None:
    gw = Gateway.from_supergraph_sdl(AUTHZ.read_text())
    query = (
        "query($x: Boolean!) { products { cost supplier { name } ... on Product { grade } } "
        "me @include(if: $x) { name } }"
    )
    prepared = gw.prepare(query, None)
    assert prepared.access is not None
    assert [c.path for c in prepared.access.checks] == [
        ("products", "@", "cost"),
        ("products", "@", "supplier"),
        ("products", "@", "... on Product", "grade"),
        ("me",),
    ]
    assert gw.prepare(query, None).access is prepared.access  # cached with the plan
    assert prepared.operation is not None and prepared.definition is not None
    again = analyze(gw.supergraph, normalize_operation(prepared.document, prepared.definition))  # type: ignore[arg-type]
    assert again is not None and len(again.atoms) == len(prepared.access.atoms) == 3  # @authenticated once


def test_settings_and_serve_factory() -> None:
    s = Settings.load(environ={"GATEWAY_AUTHORIZATION_MODE": "Reject", "GATEWAY_AUTHORIZATION_DRY_RUN": "yes"})
    assert (s.authorization_mode, s.authorization_dry_run) == ("reject", True)
    assert Settings.load(environ={}).authorization_mode == "filter"
    with pytest.raises(SettingsError, match=r"authorization\.mode"):
        Settings.load(environ={"GATEWAY_AUTHORIZATION_MODE": "drop"})
    runtime = gateway_runtime_factory(s)(AUTHZ.read_text())
    assert isinstance(runtime, Gateway)
    assert runtime._authorization.config == AuthorizationConfig("reject", True)
    with pytest.raises(ValueError, match="authorization mode"):
        AuthorizationConfig("drop")


def test_settings_from_yaml(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("authorization:\n  mode: reject\n  dry_run: true\n")
    s = Settings.load(config, environ={})
    assert (s.authorization_mode, s.authorization_dry_run) == ("reject", True)
    config.write_text("authorization:\n  mood: reject\n")
    with pytest.raises(SettingsError, match="unknown key 'mood'"):
        Settings.load(config, environ={})


class _NoFetch:
    """A transport that fails the test if the gateway sends anything."""

    async def fetch(self, subgraph: str, url: str, payload: object, headers: object) -> object:
        raise AssertionError(f"unexpected fetch to {subgraph}")


async def test_requirement_on_the_root_type_covers_the_operation() -> None:
    from gateway.contracts import GraphQLRequest, Principal

    sdl = RENAMED.replace("type Query @join__type(graph: A) {", "type Query @join__type(graph: A) @mustLogIn {")
    gw = Gateway.from_supergraph_sdl(sdl)
    outcome = await gw.execute(
        GraphQLRequest(query="{ open }"), transport=_NoFetch(), headers={}, principal=Principal()
    )
    assert outcome.to_response() == {
        "errors": [{"message": "Unauthorized field or type", "extensions": {"code": "UNAUTHORIZED_FIELD_OR_TYPE"}}],
        "data": None,
    }
