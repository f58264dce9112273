"""``gateway compose`` and its configs: JSON lists, supergraph.yaml, fetching SDL from a running subgraph."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.composition.config import ConfigError, load_config

from .helpers import CASES_DIR, normalise_supergraph

CASE = CASES_DIR / "entity-extension"


def _entries() -> list[dict[str, str]]:
    return [
        {"name": p.stem, "url": f"http://{p.stem}.example/graphql", "sdl": p.read_text()}
        for p in sorted(CASE.glob("*.graphql"))
        if not p.name.startswith("expected")
    ]


def test_compose_json_config_writes_the_supergraph(tmp_path: Path) -> None:
    config = tmp_path / "subgraphs.json"
    config.write_text(json.dumps(_entries()))
    out = tmp_path / "supergraph.graphql"
    assert main(["compose", str(config), str(out)]) == 0
    expected = (CASE / "expected-supergraph.graphql").read_text()
    assert normalise_supergraph(out.read_text()) == normalise_supergraph(expected)


def test_compose_yaml_config_with_dash_o(tmp_path: Path) -> None:
    (tmp_path / "sdl").mkdir()
    lines = ["subgraphs:"]
    for e in _entries():
        (tmp_path / "sdl" / f"{e['name']}.graphql").write_text(e["sdl"])
        lines += [f"  {e['name']}:", f"    routing_url: {e['url']}", "    schema:"]
        lines += [f"      file: sdl/{e['name']}.graphql"]
    config = tmp_path / "supergraph.yaml"
    config.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out" / "supergraph.graphql"
    assert main(["compose", str(config), "-o", str(out)]) == 0
    expected = (CASE / "expected-supergraph.graphql").read_text()
    assert normalise_supergraph(out.read_text()) == normalise_supergraph(expected)


def test_failure_writes_nothing_prints_every_error_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = CASES_DIR / "err-override-source-has-override"
    entries = [
        {"name": p.stem, "url": f"http://{p.stem}.example/graphql", "sdl": p.read_text()}
        for p in sorted(case.glob("*.graphql"))
        if not p.name.startswith("expected")
    ]
    config = tmp_path / "c.json"
    config.write_text(json.dumps(entries))
    out = tmp_path / "supergraph.graphql"
    assert main(["compose", str(config), "-o", str(out)]) == 1
    assert not out.exists()
    err = capsys.readouterr().err
    assert err.count("OVERRIDE_SOURCE_HAS_OVERRIDE") == 2
    assert err.count("INVALID_FIELD_SHARING") == 1
    assert "composition failed with 3 error(s)" in err


def test_unreadable_config_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("subgraphs:\n  a:\n    routing_url: http://a\n    schema:\n      file: missing.graphql\n")
    assert main(["compose", str(config), str(tmp_path / "out.graphql")]) == 2
    assert "missing.graphql" in capsys.readouterr().err
    assert not (tmp_path / "out.graphql").exists()


class _ServiceHandler(BaseHTTPRequestHandler):
    sdl = ""

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        assert "_service" in body["query"]
        data = json.dumps({"data": {"_service": {"sdl": self.sdl}}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def service_url() -> Iterator[str]:
    """A loopback HTTP server answering ``_service { sdl }`` with the reviews subgraph."""
    handler = type("H", (_ServiceHandler,), {"sdl": (CASE / "reviews.graphql").read_text()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/graphql"
    finally:
        server.shutdown()
        thread.join()


def test_sdl_is_fetched_from_the_url_when_absent(tmp_path: Path, service_url: str) -> None:
    entries = _entries()
    entries[1] = {"name": "reviews", "url": service_url}
    config = tmp_path / "c.json"
    config.write_text(json.dumps(entries))
    sources = load_config(config)
    assert [s.name for s in sources] == ["accounts", "reviews"]
    assert sources[1].sdl == (CASE / "reviews.graphql").read_text()
    assert sources[1].url == service_url


def test_yaml_subgraph_url_is_introspected(tmp_path: Path, service_url: str) -> None:
    config = tmp_path / "supergraph.yaml"
    config.write_text(
        f"subgraphs:\n  reviews:\n    routing_url: http://r/graphql\n    schema:\n      subgraph_url: {service_url}\n"
    )
    [source] = load_config(config)
    assert (source.name, source.url) == ("reviews", "http://r/graphql")
    assert source.sdl == (CASE / "reviews.graphql").read_text()


def test_json_entries_need_name_and_url(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text(json.dumps([{"name": "a"}]))
    with pytest.raises(ConfigError, match="entry 0"):
        load_config(config)


def test_written_supergraph_is_readable_by_others(tmp_path: Path) -> None:
    config = tmp_path / "subgraphs.json"
    config.write_text(json.dumps(_entries()))
    out = tmp_path / "supergraph.graphql"
    assert main(["compose", str(config), "-o", str(out)]) == 0
    assert out.stat().st_mode & 0o777 == 0o644


def test_hints_are_printed_but_do_not_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = CASES_DIR / "arguments-merge"
    entries = [
        {"name": p.stem, "url": f"http://{p.stem}.example/graphql", "sdl": p.read_text()}
        for p in sorted(case.glob("*.graphql"))
        if not p.name.startswith("expected")
    ]
    config = tmp_path / "c.json"
    config.write_text(json.dumps(entries))
    assert main(["compose", str(config), "-o", str(tmp_path / "s.graphql")]) == 0
    err = capsys.readouterr().err
    assert 'hint: INCONSISTENT_ARGUMENT_PRESENCE: Optional argument "Query.items(onlyMine:)"' in err
