"""The ``gateway`` CLI of issue 11: ``compose --contract``, ``check`` (exit codes for CI, against a
file and a running gateway), ``config --print`` (values with their sources) and bad config files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from graphql import print_schema

from gateway.cli import main
from gateway.composition import SubgraphSource, compose
from gateway.composition.api_schema import api_schema_from_supergraph
from gateway.serve import build_app, build_server
from gateway.settings import Settings
from tests.support.servers import ServerThread

LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@tag"])\n'
PRODUCTS = LINK + """
type Query { products: [Product!]! @tag(name: "public") audit: [String!]! @tag(name: "internal") }
type Product @key(fields: "id") { id: ID! name: String! @tag(name: "public") cost: Float }
"""
REVIEWS = LINK + 'type Product @key(fields: "id") { id: ID! stars: Int @tag(name: "public") }'


def write_config(path: Path, **subgraphs: str) -> Path:
    entries = [{"name": n, "url": f"http://{n}.example/graphql", "sdl": s} for n, s in subgraphs.items()]
    path.write_text(json.dumps(entries))
    return path


def supergraph_of(path: Path, **subgraphs: str) -> Path:
    result = compose([SubgraphSource(n, f"http://{n}.example/graphql", s) for n, s in subgraphs.items()])
    assert result.supergraph_sdl is not None, result.errors
    path.write_text(result.supergraph_sdl)
    return path


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return supergraph_of(tmp_path / "served.graphql", products=PRODUCTS, reviews=REVIEWS)


def test_compose_contract_writes_the_filtered_supergraph(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "c.json", products=PRODUCTS, reviews=REVIEWS)
    out = tmp_path / "public.graphql"
    args = ["compose", str(config), "-o", str(out), "--contract", "public", "--include", "public", "--exclude",
            "internal"]
    assert main(args) == 0
    assert "contract public" in capsys.readouterr().err
    sdl = out.read_text()
    assert "@inaccessible" in sdl and "@join__type" in sdl  # a supergraph, with hidden elements kept
    assert print_schema(api_schema_from_supergraph(sdl)) == (
        "type Product {\n  name: String!\n  stars: Int\n}\n\ntype Query {\n  products: [Product!]!\n}"
    )
    # a contract that leaves nothing to query is refused and writes nothing
    assert main(["compose", str(config), "-o", str(tmp_path / "none.graphql"), "--contract", "x", "--include",
                 "nothing"]) == 1
    assert "CONTRACT_EMPTY_QUERY" in capsys.readouterr().err and not (tmp_path / "none.graphql").exists()
    with pytest.raises(SystemExit):
        main(["compose", str(config), "--include", "public"])  # tags without a contract name


def test_check_exit_codes(tmp_path: Path, base: Path, capsys: pytest.CaptureFixture[str]) -> None:
    same = write_config(tmp_path / "same.json", products=PRODUCTS, reviews=REVIEWS)
    assert main(["check", str(same), "--supergraph", str(base)]) == 0
    assert capsys.readouterr().out.strip().endswith("0 breaking, 0 dangerous, 0 safe")

    added = write_config(tmp_path / "added.json", products=PRODUCTS.replace("cost: Float", "cost: Float sku: String"),
                         reviews=REVIEWS)
    assert main(["check", str(added), "--supergraph", str(base)]) == 0
    assert "FIELD_ADDED" in capsys.readouterr().out

    removed = write_config(tmp_path / "removed.json", products=PRODUCTS.replace("cost: Float", ""), reviews=REVIEWS)
    assert main(["check", str(removed), "--supergraph", str(base)]) == 1
    out = capsys.readouterr().out
    assert "BREAKING" in out and "Product.cost" in out

    clash = write_config(tmp_path / "clash.json", products=PRODUCTS,
                         reviews=REVIEWS.replace("stars: Int", "stars: Int name: Int"))
    assert main(["check", str(clash), "--supergraph", str(base)]) == 2
    assert "composition failed" in capsys.readouterr().err

    assert main(["check", str(same), "--supergraph", str(tmp_path / "missing.graphql")]) == 3
    assert main(["check", str(tmp_path / "missing.json"), "--supergraph", str(base)]) == 3


def test_check_a_contract_against_its_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "c.json", products=PRODUCTS, reviews=REVIEWS)
    contract = ["--contract", "public", "--include", "public"]
    served = tmp_path / "public.graphql"
    assert main(["compose", str(config), "-o", str(served), *contract]) == 0
    assert main(["check", str(config), "--supergraph", str(served), *contract]) == 0
    # without the contract, the whole graph is compared with the contract: only additions
    assert main(["check", str(config), "--supergraph", str(served)]) == 0
    assert "Field Query.audit was added" in capsys.readouterr().out


@pytest.fixture
def running(base: Path) -> Iterator[str]:
    settings = Settings.from_mapping({"supergraph": base, "poll_interval": 0, "log_level": "warning"})
    app = build_app(settings)
    with ServerThread(app, build_server(settings, app)) as server:
        yield server.url + "/graphql"


def test_check_against_a_running_gateway(tmp_path: Path, running: str, capsys: pytest.CaptureFixture[str]) -> None:
    same = write_config(tmp_path / "same.json", products=PRODUCTS, reviews=REVIEWS)
    assert main(["check", str(same), "--url", running]) == 0
    removed = write_config(tmp_path / "removed.json", products=PRODUCTS.replace("cost: Float", ""), reviews=REVIEWS)
    assert main(["check", str(removed), "--url", running, "--header", "x-request-id: ci-check"]) == 1
    assert "Product.cost" in capsys.readouterr().out
    assert main(["check", str(same), "--url", "http://127.0.0.1:9/graphql"]) == 3  # nothing listens there


def test_config_print_names_the_source_of_each_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "port: 4100\nredis_url: redis://user:s3cret@redis:6379/0\nretry:\n  attempts: 1\n"
        "variants:\n  partner: {introspection: authenticated}\n"
    )
    monkeypatch.setenv("GATEWAY_RETRY_ATTEMPTS", "4")
    monkeypatch.setenv("GATEWAY_SUBGRAPH_CATALOG_URL", "http://catalog:4002/graphql")
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    assert main(["config", "--config", str(config), "--supergraph", str(tmp_path / "s.graphql"), "--print"]) == 0
    lines = {line.split(" = ")[0].strip(): line for line in capsys.readouterr().out.splitlines()}
    assert lines["port"].endswith(f"= 4100  # file {config}")
    assert lines["retry.attempts"].endswith("= 4  # environment GATEWAY_RETRY_ATTEMPTS")
    assert lines["subgraphs.catalog.url"].endswith("# environment GATEWAY_SUBGRAPH_CATALOG_URL")
    assert lines["supergraph"].endswith("# flag --supergraph")
    assert lines["host"].endswith('= "127.0.0.1"  # default')
    assert lines["variants.partner.path"].endswith(f'= "/partner/graphql"  # file {config}')
    assert lines["variants.partner.supergraph"].startswith("variants.partner.supergraph")
    assert str(tmp_path / "partner.graphql") in lines["variants.partner.supergraph"]
    assert "s3cret" not in lines["redis_url"] and "redis://user:***@redis:6379/0" in lines["redis_url"]


@pytest.mark.parametrize(("text", "expected"), [
    ("port: 4000\npol_interval: 2\n", "line 2 (did you mean 'poll_interval'?): unknown key 'pol_interval'"),
    ("retry:\n  attemps: 2\n", "line 2 (did you mean 'attempts'?): retry: unknown key 'attemps'"),
    ("variants:\n  partner: {pth: /p/graphql}\n", "variants.partner: unknown key 'pth'"),
    ("variants:\n  partner: {path: /graphql}\n", "variants.partner.path: /graphql is the gateway's own"),
    ("introspection: sometimes\n", "introspection: must be one of auto, on, off, authenticated"),
    ("port: http\n", "port: cannot use 'http'"),
])
def test_a_bad_config_file_is_refused_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(text)
    assert main(["config", "--config", str(config)]) == 2
    assert expected in capsys.readouterr().err
    assert main(["serve", "--config", str(config), "--supergraph", str(tmp_path / "s.graphql")]) == 2
    assert expected in capsys.readouterr().err


def test_check_falls_back_to_introspection_and_says_when_both_are_refused(
    tmp_path: Path, base: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A GraphQL server without schema.graphql (an older gateway, another router): introspection is read.
    from graphql import graphql_sync
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    api = api_schema_from_supergraph(base.read_text())

    async def graphql(request: Request) -> JSONResponse:
        result = graphql_sync(api, (await request.json())["query"])
        return JSONResponse({"data": result.data})

    same = write_config(tmp_path / "same.json", products=PRODUCTS, reviews=REVIEWS)
    removed = write_config(tmp_path / "removed.json", products=PRODUCTS.replace("cost: Float", ""), reviews=REVIEWS)
    with ServerThread(Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])) as server:
        assert main(["check", str(same), "--url", server.url + "/graphql"]) == 0
        assert main(["check", str(removed), "--url", server.url + "/graphql"]) == 1
    capsys.readouterr()
    # a gateway that lets no anonymous caller introspect: neither way works, exit 3 says so
    settings = Settings.from_mapping({"supergraph": base, "poll_interval": 0, "log_level": "warning",
                                      "introspection": "authenticated"})
    app = build_app(settings)
    with ServerThread(app, build_server(settings, app)) as server:
        assert main(["check", str(same), "--url", server.url + "/graphql"]) == 3
    err = capsys.readouterr().err
    assert "refused both schema.graphql (401)" in err and "INTROSPECTION_DISABLED" in err
