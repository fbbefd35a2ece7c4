"""`rpc.discover` is a valid OpenRPC 1.x document (issue 19, item 4).

Validated against the OpenRPC meta-schema (tests/data/openrpc, offline), every `$ref` resolved,
and an example of each method's params checked against its schema with a JSON Schema validator.
`jsonschema` is a test dependency: the reference validator for Python, with `referencing` for
`$ref` resolution; a hand-rolled validator would test itself, not the document."""

import json
from pathlib import Path

import msgspec
import pytest

from omegad.methods.server import build_discover
from protocol.methods import METHODS

# (a checkout whose .venv predates the dependency: `make install` brings it)
jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is a test dependency")
from referencing import Registry, Resource  # noqa: E402, I001
from referencing.jsonschema import DRAFT7  # noqa: E402

META = Path(__file__).parent / "data" / "openrpc" / "meta-schema-1.14.9.json"


@pytest.fixture(scope="module")
def document() -> dict:
    return msgspec.json.decode(msgspec.json.encode(build_discover()))


def test_it_validates_against_the_openrpc_meta_schema(document):
    meta = json.loads(META.read_text())
    # The meta-schema's JSONSchema definition points at json-schema.tools' draft-7 dialect.
    draft7 = Resource.from_contents(jsonschema.Draft7Validator.META_SCHEMA, DRAFT7)
    registry = Registry().with_resource("https://meta.json-schema.tools", draft7)
    jsonschema.Draft7Validator(meta, registry=registry).validate(document)
    assert document["openrpc"].startswith("1.")


def _refs(node, found: list[str]) -> list[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            found.append(node["$ref"])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)
    return found


def test_every_ref_resolves(document):
    refs = _refs(document, [])
    assert refs, "the document has references"
    for ref in refs:
        assert ref.startswith("#/"), ref
        node = document
        for part in ref[2:].split("/"):
            assert part in node, f"{ref}: no {part!r}"
            node = node[part]


def test_it_lists_every_method_with_its_params_in_order(document):
    assert [m["name"] for m in document["methods"]] == sorted(METHODS)
    timeline = next(m for m in document["methods"] if m["name"] == "timeline.get")
    assert [p["name"] for p in timeline["params"]] == ["session", "from", "limit", "find"]
    assert [p.get("required", False) for p in timeline["params"]] == [True, False, False, False]
    cancel = next(m for m in document["methods"] if m["name"] == "$/cancelRequest")
    assert cancel["x-notification"] is True and "result" not in cancel


EXAMPLES = {
    "server.hello": {"client": "omegacli", "protocol": 1, "session_dir": "/tmp/s", "env": {}},
    "session.execute": {"session": "work", "command": "(+ 1 2)", "detach": True},
    "session.open": {"session": "work", "mode": "write", "follow": True},
    "session.lookup": {"session": "work", "name": "car"},
    "timeline.get": {"session": "work", "from": 3, "limit": 10, "find": "#tag"},
    "debug.break": {"session": "work", "type": "expr", "condition": "App"},
    "$/cancelRequest": {"id": 7},
}


def _example(name: str) -> dict:
    """A hand-written example where there is one, else the smallest valid params."""
    if name in EXAMPLES:
        return EXAMPLES[name]
    example = {}
    for f in msgspec.inspect.type_info(METHODS[name].params).fields:
        if f.required:
            t = f.type
            example[f.encode_name] = (
                t.values[0] if isinstance(t, msgspec.inspect.LiteralType)
                else 1 if isinstance(t, msgspec.inspect.IntType)
                else "work" if isinstance(t, msgspec.inspect.StrType) else {})
    return example


def _params_schema(method: dict, document: dict) -> dict:
    """The params object a method takes, as one schema (its descriptors put together)."""
    return {
        "type": "object",
        "properties": {p["name"]: p["schema"] for p in method["params"]},
        "required": [p["name"] for p in method["params"] if p.get("required")],
        "additionalProperties": False,
        "components": document["components"],  # so `#/components/...` resolves inside it
    }


def test_each_methods_example_params_validate_and_the_daemon_decodes_them(document):
    for method in document["methods"]:
        name = method["name"]
        example = _example(name)
        jsonschema.Draft202012Validator(_params_schema(method, document)).validate(example)
        msgspec.convert(example, METHODS[name].params)  # the daemon's own decoder agrees


def test_a_bad_params_object_fails_validation(document):
    execute = next(m for m in document["methods"] if m["name"] == "session.execute")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(_params_schema(execute, document)).validate(
            {"session": "work", "command": 3})
