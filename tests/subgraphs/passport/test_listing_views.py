"""A listing reads template snapshots as text, parsed once per request (subgraphs/passport/snapshots.py):
its passports answer exactly as each passport read on its own (the row loaded whole) does."""

from __future__ import annotations

from tests.subgraphs.passport.conftest import PassportServer

VIEW = """id name status
  fields { fieldId key label type access unit required min max pattern enumValues position
           value restrictedValue confidentialValue }
  values { key value } restrictedValues { key value } confidentialValues { key value }
  missingRequiredFields versions { number values { key value } restrictedValues { key value } }"""


def test_listed_passports_answer_as_each_read_alone(passport: PassportServer) -> None:
    listed = passport.data(f"{{ passports(first: 50) {{ nodes {{ {VIEW} }} }} }}", as_user="acme-admin")
    nodes = listed["passports"]["nodes"]
    assert len(nodes) >= 6 and len({n["id"] for n in nodes}) == len(nodes)
    assert any(n["fields"] for n in nodes) and any(n["values"] for n in nodes)
    for node in nodes:
        alone = passport.data(
            f"query($id: ID!) {{ passport(id: $id) {{ {VIEW} }} }}", {"id": node["id"]}, as_user="acme-admin"
        )
        assert alone["passport"] == node
