"""Which API call a request path names, for both backends."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

_MODEL_PATH = re.compile(
    r"^/(?P<ver>v1|v1beta|v1alpha|v1beta1)/"
    r"(?:projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/)?"
    r"(?P<publisher>publishers/google/)?"
    r"models(?:/(?P<model>[^:/]+))?(?::(?P<rpc>[A-Za-z]+))?$"
)
_OTHER_PATH = re.compile(r"^/(?:upload/)?(?P<ver>v1|v1beta|v1alpha|v1beta1)/(?P<collection>[a-zA-Z]+)(?P<rest>/.*)?$")
_RPC_SUFFIX = re.compile(r":(?P<rpc>[A-Za-z]+)$")
# The Interactions API (REST, not `:rpc`), and the URIs its outputs are served from when delivered by URI.
_INTERACTIONS_PATH = re.compile(
    r"^/(?P<ver>v1|v1beta|v1alpha|v1beta1)/"
    r"(?:projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/)?"
    r"(?:interactions(?:/(?P<id>[^/:]+)(?P<cancel>/cancel)?)?|(?P<media>interactionMedia/[^/:]+:download))$"
)


@dataclass(frozen=True)
class PathInfo:
    api_version: str | None
    backend: str  # gemini | vertex
    model: str | None
    rpc: str | None
    project: str | None = None
    location: str | None = None
    collection: str | None = None  # models, files, operations, cachedContents, ...


def parse(path: str, method: str | None = None) -> PathInfo:
    path = unquote(path)
    interaction = _INTERACTIONS_PATH.match(path)
    if interaction:
        return PathInfo(
            api_version=interaction["ver"],
            backend="vertex" if interaction["project"] or interaction["ver"] == "v1beta1" else "gemini",
            model=None,
            rpc=_interactions_rpc(interaction, method),
            project=interaction["project"],
            location=interaction["location"],
            collection="interactions",
        )
    match = _MODEL_PATH.match(path)
    if match:
        vertex = bool(match["publisher"] or match["project"] or match["ver"] == "v1beta1")
        return PathInfo(
            api_version=match["ver"],
            backend="vertex" if vertex else "gemini",
            model=match["model"],
            rpc=match["rpc"] or ("get" if match["model"] else "list"),
            project=match["project"],
            location=match["location"],
            collection="models",
        )
    other = _OTHER_PATH.match(path)
    if other:
        rpc_match = _RPC_SUFFIX.search(other["rest"] or "")
        vertex = other["ver"] == "v1beta1" or other["collection"] == "projects"
        return PathInfo(
            api_version=other["ver"],
            backend="vertex" if vertex else "gemini",
            model=None,
            rpc=rpc_match["rpc"] if rpc_match else None,
            collection=other["collection"],
        )
    if path.startswith("/ws/"):
        return PathInfo(api_version=None, backend="gemini", model=None, rpc=path.rsplit(".", 1)[-1], collection="live")
    return PathInfo(api_version=None, backend="gemini", model=None, rpc=None)


def _interactions_rpc(match: re.Match[str], method: str | None) -> str:
    """`interactions.create|get|cancel|delete|list|download`: the rpc names tests wait for and faults match."""
    if match["media"]:
        return "interactions.download"
    if match["id"] is None:
        return "interactions.list" if method == "GET" else "interactions.create"
    if match["cancel"]:
        return "interactions.cancel"
    return "interactions.delete" if method == "DELETE" else "interactions.get"
