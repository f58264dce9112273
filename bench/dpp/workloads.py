"""The workloads of ``make bench-dpp``: what is asked, of which process, as whom."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from subgraphs.common import demo

QR = "query($uuid: String!) { publicPassport(uuid: $uuid) { name fields { key value } product { name } } }"
DASHBOARD = """query Dashboard($first: Int!) {
  passports(first: $first) {
    totalCount
    edges { node {
      id name status version publishedVersion updatedAt
      product { id name sku category { name } }
      template { id name version }
      fields { key label type access unit value }
      values { key value }
    } }
  }
}"""
CATALOG = """query Catalog($filter: ProductFilter, $order: ProductOrder, $first: Int) {
  products(filter: $filter, orderBy: $order, first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id name sku isEnabled isFeatured updatedAt category { id name } } }
  }
}"""
TYPENAME = "{ __typename }"


@dataclass(frozen=True)
class Workload:
    """One row of the table.

    ``target``: ``gateway`` or a subgraph name (asked directly); ``zipf``: the bodies are
    picked by a Zipf law (otherwise uniformly); ``signed_in``: with the demo admin's token;
    ``mutations``: driven by ``mutate.py`` instead of wrk; ``paced_by``: driven by ``rate.py`` at a
    fixed rate, a share of the peak the named workload measured just before on the same stack.
    """

    name: str
    target: str
    description: str
    zipf: bool = False
    signed_in: bool = False
    mutations: bool = False
    paced_by: str | None = None  # a fixed rate: PACED_SHARE of this workload's requests/s (rate.py)


PACED_SHARE = 0.8


WORKLOADS: tuple[Workload, ...] = (
    Workload("typename-passport", "passport", "{ __typename } on the passport subgraph directly"),
    Workload("typename-gateway", "gateway", "{ __typename } on the gateway"),
    Workload("qr-gateway", "gateway", "publicPassport(uuid) with product, anonymous, Zipf over uuids", zipf=True),
    Workload(
        "qr-gateway@80%", "gateway", "the QR path at 80% of its peak, fixed rate", zipf=True, paced_by="qr-gateway"
    ),
    Workload("qr-passport", "passport", "the same on the passport subgraph directly", zipf=True),
    Workload("dashboard", "gateway", "passports(first: 50) + product, category, template, fields", signed_in=True),
    Workload("catalog", "gateway", "products(filter, orderBy, first: 20), 6 filter variants", signed_in=True),
    Workload("mutations", "gateway", "createProduct, createPassport, setPassportValues, publish", mutations=True),
)


def _line(query: str, variables: dict[str, object] | None = None) -> str:
    return json.dumps({"query": query, "variables": variables or {}}, separators=(",", ":"))


def write_bodies(workload: Workload, directory: Path, published_uuids: list[str]) -> Path:
    """The request bodies of ``workload`` (one a line) in ``directory``; its path."""
    path = directory / f"{workload.name}.jsonl"
    if workload.name.startswith("typename"):
        lines = [_line(TYPENAME)]
    elif workload.name.startswith("qr"):
        uuids = sorted(published_uuids)
        random.Random(7).shuffle(uuids)  # popularity unrelated to insertion order; the same for every stack
        lines = [_line(QR, {"uuid": u}) for u in uuids]
    elif workload.name == "dashboard":
        lines = [_line(DASHBOARD, {"first": 50})]
    elif workload.name == "catalog":
        batteries, textiles = (next(c.id for c in demo.CATEGORIES if c.key == k) for k in ("batteries", "textiles"))
        variants: list[dict[str, object]] = [
            {"filter": {"categoryId": batteries, "isEnabled": True}, "order": {"field": "NAME"}, "first": 20},
            {"filter": {"categoryId": textiles}, "order": {"field": "CREATED_AT", "direction": "DESC"}, "first": 20},
            {"filter": {"search": "Cell 0012"}, "first": 20},
            {"filter": {"search": "tee", "isEnabled": False}, "order": {"field": "UPDATED_AT"}, "first": 20},
            {"filter": {"isFeatured": True}, "first": 20},
            {"first": 20},
        ]
        lines = [_line(CATALOG, v) for v in variants]
    else:
        raise ValueError(f"{workload.name} is not driven by wrk")
    path.write_text("\n".join(lines) + "\n")
    return path


def mutation_mix() -> dict[str, str]:
    """``mutate.py``'s arguments: acme's battery products with the Product DPP template and valid values."""
    template = demo.template("product-dpp")
    values = [
        ("manufacturer_name", "Acme Batteries GmbH"),
        ("model_number", "MIX-CP-001"),
        ("chemistry", "LFP"),
        ("capacity_kwh", 75),
        ("carbon_footprint", 60),
        ("recycled_content", 15),
        ("warranty_years", 8),
        ("hazardous", False),
        ("manufacture_date", "2026-05-15"),
        ("safety_datasheet", "https://acme.example/sds/mix.pdf"),
        ("unit_cost", 3000),
    ]
    return {"category": template.category_id, "template": template.id, "values": json.dumps(values)}
