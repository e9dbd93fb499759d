"""Check a request the WhatsApp emulator received against Meta's OpenAPI description of the Cloud API.

The description (`business-messaging-api_v23.0.yaml`, MIT) lives in the workspace's `shared/whatsapp/`
folder beside the repository, not in it: it is found through `$WHATSAPP_OPENAPI`, else in `shared/whatsapp/`
beside the repository or beside any folder above it (a git worktree sits deeper than the main clone).
Where it is absent, `require_spec()` skips the test with the reason.

`validate(method, path, body, content_type)` finds the operation the request is for, by its path
template (`/{Version}/{Phone-Number-ID}/messages`, ...), and checks the body against the operation's
request schema with JSON Schema 2020-12 (the dialect of OpenAPI 3.1), `$ref`s resolved inside the file.
It raises `RequestInvalid` naming each problem.

Three things are read differently from the file as written, each for a stated reason:
- A message schema such as `TextMessage` is `allOf: [BaseMessageProperties, {additionalProperties:
  false, properties: {type, text}}]`. Under JSON Schema `additionalProperties` sees only its own
  sibling `properties`, so as written every message (which has `messaging_product`, `to`, ...) fails.
  What the authors meant is `unevaluatedProperties: false` on the `allOf`, which sees through it; so
  each such closed member of an `allOf` is opened and the `allOf` closed instead. Unknown fields are
  still refused.
- A read receipt (`{"messaging_product", "status": "read", "message_id"}`, optionally with a
  `typing_indicator`) is sent to the same `/messages` operation but the file shows it only as an
  example ("Send typing indicator and read receipt"), not in the schema; it is checked against a
  schema of exactly that example's fields (the example is checked to still have only those).
- Meta added the `recipient` field (a business-scoped user id, BSUID: two capital letters, a dot, up
  to 128 letters or digits, e.g. `GB.1234567890`; a parent BSUID has `ENT.` after the dot) after
  v23.0 of this file, as the way to send to a person whose phone number is not shared; `to` stays for
  phone numbers and wins when both are given. So `BaseMessageProperties` takes `recipient` and needs
  `to` or `recipient`.
- A template button's `index` has the pattern `^[2-6, 11-14]$` (a character class: one of "2"-"6",
  ",", " ", "1", "-" or "4") beside the text "Position index of the button (0-9)", which is what
  Meta's documentation and every example use: the first button is "0". It is read as the text says.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_NAME = "business-messaging-api_v23.0.yaml"
SPEC_ENV = "WHATSAPP_OPENAPI"
REPO = Path(__file__).resolve().parents[1]
_URI = "urn:whatsapp-cloud-api"
BSUID_PATTERN = r"^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$"
READ_RECEIPT_EXAMPLE = "Send typing indicator and read receipt"
_READ_RECEIPT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["messaging_product", "status", "message_id"],
    "properties": {
        "messaging_product": {"type": "string", "enum": ["whatsapp"]},
        "status": {"type": "string", "enum": ["read"]},
        "message_id": {"type": "string", "minLength": 1},
        "typing_indicator": {
            "type": "object",
            "additionalProperties": False,
            "required": ["type"],
            "properties": {"type": {"type": "string", "enum": ["text"]}},
        },
    },
}
# The media URL that GET /{Media-ID} returns: the file names it `/{Version}/{Media-URL}`; on Meta's
# servers (and the emulator's) it is a path of its own, so requests to it are mapped here.
DOWNLOAD_PREFIX = "/whatsapp_business/attachments/"
_DOWNLOAD_TEMPLATE = "/{Version}/{Media-URL}"
# Several one-id paths (/{Version}/{Business-ID}, /{Version}/{Media-ID}, ...) match /v23.0/123 alike;
# of those, the emulator serves only media.
_PREFERRED = ("/{Version}/{Media-ID}",)


class RequestInvalid(AssertionError):
    """A request that does not fit Meta's description; `problems` says where and why."""

    def __init__(self, method: str, path: str, problems: list[str]) -> None:
        super().__init__(f"{method} {path}: " + "; ".join(problems))
        self.problems = problems


def spec_path() -> Path | None:
    """Where the description is, or None when it is not on this machine."""
    given = os.environ.get(SPEC_ENV)
    if given:
        return Path(given) if Path(given).is_file() else None
    for folder in REPO.parents:
        candidate = folder / "shared" / "whatsapp" / SPEC_NAME
        if candidate.is_file():
            return candidate
    return None


def require_spec() -> None:
    """Skip the calling test, with the reason, when the description is absent."""
    import pytest

    if spec_path() is None:
        pytest.skip(f"Meta's OpenAPI description ({SPEC_NAME}) is not in shared/whatsapp/ nor ${SPEC_ENV}")


BROKEN_INDEX = "^[2-6, 11-14]$"


@lru_cache(maxsize=1)
def _spec() -> dict[str, Any]:
    """The description, loaded once, with the readings the module docstring gives."""
    path = spec_path()
    if path is None:
        raise FileNotFoundError(SPEC_NAME)
    with path.open(encoding="utf-8") as stream:
        spec: dict[str, Any] = yaml.load(stream, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    _close_all_of(spec)
    base = spec["components"]["schemas"]["BaseMessageProperties"]
    base["properties"]["recipient"] = {"type": "string", "pattern": BSUID_PATTERN}
    base["required"] = [name for name in base["required"] if name != "to"]
    base["anyOf"] = [{"required": ["to"]}, {"required": ["recipient"]}]
    _read_index_as_documented(spec)
    send = spec["paths"]["/{Version}/{Phone-Number-ID}/messages"]["post"]
    example = send["requestBody"]["content"]["application/json"]["examples"][READ_RECEIPT_EXAMPLE]["value"]
    unknown = set(example) - set(_READ_RECEIPT["properties"])  # type: ignore[call-overload]
    if unknown:
        raise ValueError(f"the read receipt example now has {sorted(unknown)}: update _READ_RECEIPT")
    # Each request schema under one key, so a `$ref` into the file can name it without the path's braces.
    schemas = spec["x-request-schemas"] = {}
    for item in spec["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and "requestBody" in op and "operationId" in op:
                for kind, content in op["requestBody"].get("content", {}).items():
                    if "schema" in content:
                        schemas[f"{op['operationId']} {kind}"] = content["schema"]
    return spec


def _read_index_as_documented(node: Any) -> None:
    """A button `index` pattern of "^[2-6, 11-14]$" read as its text says: 0 to 9."""
    if isinstance(node, dict):
        index = node.get("index")
        if isinstance(index, dict) and index.get("pattern") == BROKEN_INDEX:
            index["pattern"] = "^[0-9]$"
        for value in node.values():
            _read_index_as_documented(value)
    elif isinstance(node, list):
        for value in node:
            _read_index_as_documented(value)


def _close_all_of(node: Any) -> None:
    """Move `additionalProperties: false` from an `allOf` member up to `unevaluatedProperties: false`
    on the schema holding the `allOf`, everywhere in the tree."""
    if isinstance(node, dict):
        members = node.get("allOf")
        if isinstance(members, list):
            for member in members:
                if isinstance(member, dict) and member.get("additionalProperties") is False:
                    del member["additionalProperties"]
                    node["unevaluatedProperties"] = False
        for value in node.values():
            _close_all_of(value)
    elif isinstance(node, list):
        for value in node:
            _close_all_of(value)


@lru_cache(maxsize=1)
def _registry() -> Registry[Any]:
    return Registry().with_resource(_URI, Resource.from_contents(_spec(), default_specification=DRAFT202012))


@lru_cache(maxsize=64)
def _validator(pointer: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"{_URI}#{pointer}"}, registry=_registry())


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The path template and operation object a request is for; KeyError when there is none."""
    method = method.lower()
    path = path.split("?", 1)[0]
    paths: dict[str, Any] = _spec()["paths"]
    if path.startswith(DOWNLOAD_PREFIX):
        return _DOWNLOAD_TEMPLATE, paths[_DOWNLOAD_TEMPLATE][method]
    parts = path.strip("/").split("/")
    best: list[tuple[int, str]] = []
    for template, item in paths.items():
        segments = template.strip("/").split("/")
        if method not in item or len(segments) != len(parts):
            continue
        literal = 0
        for segment, part in zip(segments, parts, strict=True):
            if segment.startswith("{") and segment.endswith("}"):
                continue
            if segment != part:
                break
            literal += 1
        else:
            best.append((literal, template))
    if not best:
        raise KeyError(f"no operation for {method.upper()} {path}")
    top = max(score for score, _ in best)
    found = [template for score, template in best if score == top]
    if len(found) > 1:
        found = [template for template in found if template in _PREFERRED] or found
    if len(found) > 1:
        raise KeyError(f"{method.upper()} {path} matches {found}")
    return found[0], paths[found[0]][method]


def problems(
    method: str, path: str, body: Any = None, content_type: str | None = "application/json"
) -> list[str]:
    """Everything in a request that does not fit the description (empty when it fits)."""
    try:
        _, op = operation(method, path)
    except KeyError as exc:
        return [str(exc.args[0])]
    if not re.fullmatch(r"v\d+\.\d+", path.strip("/").split("/")[0]) and not path.startswith(DOWNLOAD_PREFIX):
        return [f"the first segment of {path} is not a Graph API version like v23.0"]
    request_body = op.get("requestBody")
    if request_body is None:
        return [] if body in (None, b"", {}) else [f"{op['operationId']} takes no body"]
    if body is None:
        return [f"{op['operationId']} needs a body"] if request_body.get("required") else []
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind not in request_body["content"]:
        return [f"{op['operationId']} takes {sorted(request_body['content'])}, not {kind or 'no type'}"]
    if op.get("operationId") == "sendMessage" and isinstance(body, dict) and "status" in body:
        checker = Draft202012Validator(_READ_RECEIPT)
    else:
        pointer = f"/x-request-schemas/{_escape(op['operationId'] + ' ' + kind)}"
        pointer, wrong = _discriminated(pointer, body)
        if wrong:
            return [wrong]
        checker = _validator(pointer)
    if kind == "multipart/form-data" and isinstance(body, dict):
        body = {name: "" if isinstance(value, bytes | bytearray) else value for name, value in body.items()}
    errors = sorted(checker.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    found = []
    for error in errors:
        if error.validator == "unevaluatedProperties":
            # a property whose own schema failed counts as unevaluated too: say it once, where it failed
            at = list(error.absolute_path)
            failing = {
                str(e.absolute_path[len(at)])
                for e in errors
                if len(e.absolute_path) > len(at) and list(e.absolute_path)[: len(at)] == at
            }
            named = set(re.findall(r"'([^']+)'", str(error.message).split("(", 1)[-1]))
            if named and named <= failing:
                continue
        where = "/".join(map(str, error.absolute_path)) or "(body)"
        found.append(f"{where}: {_explain(error)}")
    return found


def _discriminated(pointer: str, body: Any) -> tuple[str, str | None]:
    """Follow the schema's `discriminator`, as OpenAPI means it: the body's `type` picks the one
    `oneOf` member to check (so a problem is reported in that member, not as "fits none")."""
    schema: Any = _spec()
    for part in pointer.strip("/").split("/"):
        schema = schema[part.replace("~1", "/").replace("~0", "~")]
    while isinstance(schema, dict) and set(schema) == {"$ref"}:
        pointer = schema["$ref"].removeprefix("#")
        schema = _spec()
        for part in pointer.strip("/").split("/"):
            schema = schema[part.replace("~1", "/").replace("~0", "~")]
    discriminator = schema.get("discriminator") if isinstance(schema, dict) else None
    if not discriminator or "mapping" not in discriminator or not isinstance(body, dict):
        return pointer, None
    name = discriminator["propertyName"]
    if name not in body:
        return pointer, f"{name}: is required"
    target = discriminator["mapping"].get(body[name])
    if target is None:
        return pointer, f"{name}: {body[name]!r} is not one of {sorted(discriminator['mapping'])}"
    return str(target).removeprefix("#"), None


def _explain(error: Any) -> str:
    """An error's message, with the deepest reason when it is a oneOf/anyOf that nothing matched."""
    reasons = [e for e in (error.context or []) if e.validator not in {"oneOf", "anyOf"}]
    if error.validator in {"oneOf", "anyOf"} and reasons:
        deepest = max(reasons, key=lambda e: len(list(e.absolute_path)))
        where = "/".join(map(str, deepest.absolute_path)) or "(body)"
        return f"fits none of the {error.validator} branches; e.g. at {where}: {deepest.message[:200]}"
    return str(error.message)[:300]


def validate(method: str, path: str, body: Any = None, content_type: str | None = "application/json") -> None:
    """Raise `RequestInvalid` unless the request fits Meta's description."""
    found = problems(method, path, body, content_type)
    if found:
        raise RequestInvalid(method.upper(), path, found)
