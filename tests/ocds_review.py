"""Test-side proof that OCDS output is valid (issue 15), with no network.

Two independent checks of a release package or a record package:
- `schema_errors` and `codelist_violations`: jsonschema (Draft 4, as OCDS declares) against the
  1.1.5 schemas with the lots and bids extensions applied as JSON merge patches, and every
  closed codelist's codes from the CSVs;
- `review` and `review_counts`: the standard's own review tool, libcoveocds, through its Python
  API as its command runs it, offline.

libcoveocds fetches what a package's `extensions` list names (ocdsextensionregistry downloads
each extension's GitHub archive through its own shared requests session) and, for a record
package, the versioned release schema (jsonref, through plain `requests.get`). `offline()`
serves those addresses from tests/data/ocds through a requests transport adapter: mounted on
ocdsextensionregistry's session, and on every session `requests.get` makes (requests-cache's
`enabled`, with a session class of ours). Any other address, and any socket or urllib use by the
reviewing thread (an audit hook), raises NetworkAttempted; review() raises it afterwards too, as
libraries catch some errors and report them as data problems ("fetching failed").

The data files and their attribution: tests/data/ocds/README.md.
"""

from __future__ import annotations

import copy
import csv
import functools
import io
import json
import sys
import tempfile
import threading
import warnings
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import json_merge_patch
import libcoveocds.api
import ocdsextensionregistry.util
import ocdsmerge
import requests
import requests_cache
from jsonschema import Draft4Validator, FormatChecker, ValidationError
from libcoveocds.config import LibCoveOCDSConfig
from ocdsextensionregistry import ProfileBuilder
from ocdsextensionregistry.exceptions import ExtensionWarning
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse

DATA = Path(__file__).parent / "data" / "ocds"
SCHEMAS = DATA / "1.1.5"
STANDARD_ZIP = DATA / "standard-1__1__5.zip"
TAG = "1__1__5"

# The extensions' canonical addresses (extension.json of their v1.1.5 tags), as a package lists
# them; each is served from tests/data/ocds/extensions/<repository>.
_EXTENSION_REF = "v1.1.5"
_EXTENSION_REPOSITORIES = ("ocds_lots_extension", "ocds_bid_extension")
_RAW = "https://raw.githubusercontent.com/open-contracting-extensions/"
_ARCHIVES = "https://github.com/open-contracting-extensions/"
LOTS_EXTENSION = f"{_RAW}ocds_lots_extension/{_EXTENSION_REF}/extension.json"
BIDS_EXTENSION = f"{_RAW}ocds_bid_extension/{_EXTENSION_REF}/extension.json"
EXTENSIONS = (LOTS_EXTENSION, BIDS_EXTENSION)

# Where the schemas name each other ($ref and id).
_SCHEMA_BASE = f"https://standard.open-contracting.org/schema/{TAG}/"
RELEASE_SCHEMA_URI = f"{_SCHEMA_BASE}release-schema.json"
VERSIONED_RELEASE_SCHEMA_URI = f"{_SCHEMA_BASE}versioned-release-validation-schema.json"

# Long messages (a whole object's repr) are cut to this many characters.
_MESSAGE_LIMIT = 300


class NetworkAttempted(RuntimeError):
    """The review tool tried to reach the network: the harness must serve it, not the internet.
    Not an OSError nor a requests error, so the libraries' own handlers do not swallow it."""


def _read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


# --- the schemas --------------------------------------------------------------------------


@functools.cache
def _patched_release_schema() -> dict[str, Any]:
    schema = _read_json(SCHEMAS / "release-schema.json")
    # In the package's order: the bids patch extends definitions the lots patch does not touch.
    for repository in _EXTENSION_REPOSITORIES:
        patch = _read_json(DATA / "extensions" / repository / "release-schema.json")
        schema = json_merge_patch.merge(schema, patch)
    return schema


def release_schema() -> dict[str, Any]:
    """The 1.1.5 release schema with the lots then the bids patch merged in (RFC 7396)."""
    return copy.deepcopy(_patched_release_schema())


def release_package_schema() -> dict[str, Any]:
    """The 1.1.5 release package schema; its releases' `$ref` resolves, in `schema_registry()`,
    to the patched release schema."""
    return _read_json(SCHEMAS / "release-package-schema.json")


def record_package_schema() -> dict[str, Any]:
    """The 1.1.5 record package schema: releases and compiledRelease `$ref` the patched release
    schema, versionedRelease the standard's versioned release validation schema (unpatched, as
    libcoveocds uses it), both through `schema_registry()`."""
    return _read_json(SCHEMAS / "record-package-schema.json")


@functools.cache
def _versioned_release_schema() -> dict[str, Any]:
    return _read_json(SCHEMAS / "versioned-release-validation-schema.json")


@functools.cache
def schema_registry() -> Registry:
    """The schemas the packages `$ref`, by their addresses: nothing is fetched."""
    return Registry().with_resources(
        [
            (
                RELEASE_SCHEMA_URI,
                Resource.from_contents(_patched_release_schema(), default_specification=DRAFT4),
            ),
            (
                VERSIONED_RELEASE_SCHEMA_URI,
                Resource.from_contents(_versioned_release_schema(), default_specification=DRAFT4),
            ),
        ]
    )


@functools.cache
def _validator(kind: str) -> Draft4Validator:
    schema = release_package_schema() if kind == "releases" else record_package_schema()
    # KeyError here means rfc3339-validator or rfc3987 is missing: the formats would go unchecked.
    checker = FormatChecker(formats=("date-time", "uri"))
    return Draft4Validator(schema, registry=schema_registry(), format_checker=checker)


def _package_kind(package: Mapping[str, Any]) -> str:
    if "records" in package:
        return "records"
    if "releases" in package:
        return "releases"
    raise ValueError("neither a release package (releases) nor a record package (records)")


def _message(error: ValidationError) -> str:
    text = error.message
    if len(text) > _MESSAGE_LIMIT:
        text = text[:_MESSAGE_LIMIT] + "..."
    return f"{error.json_path}: {text}"


def _leaf_errors(error: ValidationError) -> Iterator[ValidationError]:
    if not error.context:
        yield error
        return
    subs = list(error.context)
    # The packages' one oneOf: a record's releases, linked or embedded. Report the meant branch's
    # own errors, which name the real paths: embedded if every release has an id (as libcoveocds
    # assumes), linked otherwise.
    if error.validator == "oneOf":
        embedded = isinstance(error.instance, list) and all(
            isinstance(item, dict) and "id" in item for item in error.instance
        )
        meant = "Embedded releases" if embedded else "Linked releases"
        titles = [branch.get("title") for branch in error.validator_value]
        if meant in titles:
            index = titles.index(meant)
            subs = [sub for sub in subs if sub.relative_schema_path[0] == index]
    for sub in subs:
        yield from _leaf_errors(sub)


def schema_errors(package: Mapping[str, Any]) -> list[str]:
    """Every JSON Schema error in a release or record package, each as "<JSON path>: <message>"."""
    validator = _validator(_package_kind(package))
    errors = sorted(validator.iter_errors(package), key=lambda e: (e.json_path, e.message))
    return [_message(leaf) for error in errors for leaf in _leaf_errors(error)]


# --- closed codelists -----------------------------------------------------------------------


def _codes(path: Path) -> frozenset[str]:
    with path.open(newline="", encoding="utf-8") as f:
        return frozenset(row["Code"] for row in csv.DictReader(f))


@functools.cache
def codelists() -> dict[str, frozenset[str]]:
    """Every codelist's codes by file name: the standard's and the extensions' own."""
    paths = [*sorted((SCHEMAS / "codelists").glob("*.csv"))]
    for repository in _EXTENSION_REPOSITORIES:
        paths.extend(sorted((DATA / "extensions" / repository / "codelists").glob("*.csv")))
    lists: dict[str, frozenset[str]] = {}
    for path in paths:
        # Extensions may add (+name.csv) or remove (-name.csv) codes; ours do neither, and a
        # harness that ignored them would judge wrongly.
        if path.name[0] in "+-" or path.name in lists:
            raise NotImplementedError(f"codelist patch or duplicate not handled: {path}")
        lists[path.name] = _codes(path)
    return lists


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/definitions/"):
            raise NotImplementedError(
                f"only local references expected in the release schema: {ref}"
            )
        schema = root["definitions"][ref.removeprefix("#/definitions/")]
    return schema


def _walk_codelists(
    value: Any, schema: Mapping[str, Any], root: Mapping[str, Any], path: str
) -> Iterator[str]:
    schema = _resolve(schema, root)
    name = schema.get("codelist")
    if name is not None and schema.get("openCodelist") is False:
        codes = codelists()[name]
        items = enumerate(value) if isinstance(value, list) else [(None, value)]
        for index, code in items:
            # Anything not a string (null, a number) is the schema check's to report.
            if isinstance(code, str) and code not in codes:
                where = path if index is None else f"{path}[{index}]"
                yield f"{where}: {code!r} is not in the closed codelist {name}"
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                yield from _walk_codelists(item, properties[key], root, f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from _walk_codelists(item, schema["items"], root, f"{path}[{index}]")


def _releases(package: Mapping[str, Any]) -> Iterator[tuple[str, Any, Mapping[str, Any]]]:
    """Each release-shaped object with its path and the schema it follows."""
    release = _patched_release_schema()
    if _package_kind(package) == "releases":
        for i, item in enumerate(_list(package.get("releases"))):
            yield f"$.releases[{i}]", item, release
        return
    for i, record in enumerate(_list(package.get("records"))):
        if not isinstance(record, dict):
            continue
        # Linked releases too: their tags are the same closed codelist.
        for j, item in enumerate(_list(record.get("releases"))):
            yield f"$.records[{i}].releases[{j}]", item, release
        if "compiledRelease" in record:
            yield f"$.records[{i}].compiledRelease", record["compiledRelease"], release
        if "versionedRelease" in record:
            # The standard's versioned schema, unpatched, as libcoveocds reads it.
            versioned = _versioned_release_schema()
            yield f"$.records[{i}].versionedRelease", record["versionedRelease"], versioned


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def codelist_violations(package: Mapping[str, Any]) -> list[str]:
    """Every value of a closed codelist field (openCodelist false in the patched schema) that is
    not among its codes, in every release, compiled release and versioned release (against the
    standard's versioned schema, as the review tool does); open codelists are not checked."""
    return [
        violation
        for path, release, root in _releases(package)
        for violation in _walk_codelists(release, root, root, path)
    ]


# --- offline: what the review tool fetches, served from tests/data/ocds ----------------------

_guard_lock = threading.Lock()
# While a review runs: the reviewing thread's id and the addresses it tried to reach.
_guard: dict[str, Any] = {}
_NETWORK_EVENTS = frozenset(
    {"socket.getaddrinfo", "socket.gethostbyname", "socket.connect", "urllib.Request"}
)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event in _NETWORK_EVENTS and _guard.get("thread") == threading.get_ident():
        attempt = f"{event} {args[:2]!r}"
        _guard["attempts"].append(attempt)
        raise NetworkAttempted(attempt)


# An audit hook cannot be removed: it acts only in the thread that is reviewing.
sys.addaudithook(_audit)


@functools.cache
def _extension_archive(repository: str) -> bytes:
    """The extension's files as GitHub's archive of its tag lays them out (one top folder)."""
    source = DATA / "extensions" / repository
    top = f"{repository}-{_EXTENSION_REF.removeprefix('v')}/"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(top, b"")
        for path in sorted(source.rglob("*")):
            if path.is_file():
                archive.write(path, top + path.relative_to(source).as_posix())
    return buffer.getvalue()


def _served(url: str) -> bytes | None:
    """The local copy of what the review tool may fetch: the extensions (as ocdsextensionregistry
    downloads them, or file by file) and the standard's schemas; None for anything else."""
    for repository in _EXTENSION_REPOSITORIES:
        if url == f"{_ARCHIVES}{repository}/archive/{_EXTENSION_REF}.zip":
            return _extension_archive(repository)
        prefix = f"{_RAW}{repository}/{_EXTENSION_REF}/"
        if url.startswith(prefix):
            return _file_under(DATA / "extensions" / repository, url.removeprefix(prefix))
    if url.startswith(_SCHEMA_BASE):
        return _file_under(SCHEMAS, url.removeprefix(_SCHEMA_BASE))
    return None


def _file_under(folder: Path, relative: str) -> bytes | None:
    path = (folder / relative).resolve()
    if folder.resolve() not in path.parents or not path.is_file():
        return None
    return path.read_bytes()


class _LocalFiles(HTTPAdapter):
    """A requests transport adapter answering from tests/data/ocds; in the reviewing thread,
    anything else raises NetworkAttempted (other threads pass through untouched)."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        url = request.url or ""
        body = _served(url)
        if body is None:
            if _guard.get("thread") != threading.get_ident():
                return super().send(request, **kwargs)
            _guard["attempts"].append(url)
            raise NetworkAttempted(url)
        raw = HTTPResponse(
            body=io.BytesIO(body),
            headers={"Content-Length": str(len(body))},
            status=200,
            reason="OK",
            preload_content=False,
            decode_content=False,
            request_url=url,
        )
        return self.build_response(request, raw)


class _OfflineSession(requests_cache.CachedSession):
    """The session every `requests.get` makes while offline() is on (requests-cache's
    install_cache takes the class): our adapter for every address."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        adapter = _LocalFiles()
        self.mount("https://", adapter)
        self.mount("http://", adapter)


@contextmanager
def offline() -> Iterator[None]:
    """Serve the review tool's fetches locally; raise NetworkAttempted if it tried anything else."""
    with _guard_lock:
        attempts: list[str] = []
        session = ocdsextensionregistry.util.session
        adapters = session.adapters.copy()
        adapter = _LocalFiles()
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        _guard.update(thread=threading.get_ident(), attempts=attempts)
        try:
            with requests_cache.enabled(backend="memory", session_factory=_OfflineSession):
                yield
        except Exception as error:
            # Libraries wrap what they could not fetch (jsonref: JsonRefError): say why.
            if attempts:
                raise NetworkAttempted(f"the review tool tried the network: {attempts}") from error
            raise
        finally:
            _guard.clear()
            session.adapters = adapters
        if attempts:
            raise NetworkAttempted(f"the review tool tried the network: {attempts}")


# --- the review tool ------------------------------------------------------------------------


def review(package: Mapping[str, Any]) -> dict[str, Any]:
    """libcoveocds's review of a release or record package, as its `libcoveocds` command runs it
    (API context, the standard from tests/data/ocds/standard-1__1__5.zip), offline."""
    config = LibCoveOCDSConfig()
    config.config["standard_zip"] = STANDARD_ZIP.resolve().as_uri()
    config.config["context"] = "api"
    data = copy.deepcopy(dict(package))
    with offline(), tempfile.TemporaryDirectory(prefix="ocds-review-") as output:
        # The output folder receives the extended schema file the command writes for conversions.
        result: dict[str, Any] = libcoveocds.api.ocds_json_output(
            output, json_data=data, lib_cove_ocds_config=config
        )
    return result


def review_counts(result: Mapping[str, Any]) -> tuple[int, int]:
    """(errors, closed-codelist violations) in a review() result.

    Errors: schema validation errors (one per path), extensions the tool could not apply, their
    codelists it could not read, malformed ocid prefixes, and a schema it could not dereference.
    Violations: each distinct value outside a closed codelist, per field (as the tool groups
    them). Open codelists' new values, additional fields and the empty-field check are not
    counted: the tool reports them as information, not errors."""
    extensions = result.get("extensions") or {}
    errors = len(result.get("validation_errors", []))
    errors += len(extensions.get("invalid_extensions", []))
    errors += sum(len(e.get("failed_codelists", {})) for e in extensions.get("extensions", []))
    conformance = result.get("conformance_errors") or {}
    errors += len(conformance.get("ocds_prefixes_bad_format", []))
    errors += 1 if result.get("json_deref_error") else 0
    closed = sum(
        len(field["values"])
        for field in result.get("additional_closed_codelist_values", {}).values()
    )
    return errors, closed


# --- compiling as the standard's tools do ---------------------------------------------------


@functools.cache
def _merger(extensions: tuple[str, ...]) -> ocdsmerge.Merger:
    # libcoveocds compiles nothing (it validates a record's compiledRelease as given). The
    # standard's tools that compile (OCDS Kit's compile, per ocdsmerge's docs) patch the schema
    # with ProfileBuilder from the package's extensions, then merge with ocdsmerge.Merger: here
    # with the very ProfileBuilder inputs the review uses.
    builder = ProfileBuilder(
        TAG, list(extensions), standard_base_url=STANDARD_ZIP.resolve().as_uri()
    )
    with offline(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExtensionWarning)
        schema = builder.patched_release_schema()
    # ProfileBuilder warns, and carries on unpatched, when an extension cannot be read.
    problems = [str(w.message) for w in caught if issubclass(w.category, ExtensionWarning)]
    if problems:
        raise RuntimeError(f"extensions not applied: {problems}")
    return ocdsmerge.Merger(schema)


def compile_like_review_tool(
    releases: Sequence[Mapping[str, Any]], extensions: Sequence[str] = EXTENSIONS
) -> dict[str, Any]:
    """The compiled release of one ocid's releases, merged by ocdsmerge with the schema the
    review tool builds from the package's extensions."""
    compiled: dict[str, Any] = _merger(tuple(extensions)).create_compiled_release(
        copy.deepcopy(list(releases))
    )
    return compiled


def versioned_like_review_tool(
    releases: Sequence[Mapping[str, Any]], extensions: Sequence[str] = EXTENSIONS
) -> dict[str, Any]:
    """The versioned release of one ocid's releases, the same way."""
    versioned: dict[str, Any] = _merger(tuple(extensions)).create_versioned_release(
        copy.deepcopy(list(releases))
    )
    return versioned
