"""The web console (``web/``, built into ``CRM_WEB_DIR``) served at ``/``.

A single-page app: a file that exists is sent as it is (``/assets/…`` carry a content hash
in their names, so browsers keep them for a year); any other path that is not the API's is
one of the app's own pages (``/customers/42``, ``/survey/<token>``) and gets ``index.html``,
never cached, so a new release reaches every browser at its next page load. Paths under
``/api`` that no route answered stay a problem+json 404: the app never receives HTML where it
asked for JSON.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from crm_gateway.api.security_headers import is_api_path
from crm_platform.errors import NotFound

router = APIRouter(include_in_schema=False)

ASSETS_PREFIX = "assets/"
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"


def console_file(root: Path, path: str) -> Path | None:
    """The file under ``root`` that ``path`` names, or None (absent, or outside ``root``)."""
    if not path:
        return None
    candidate = (root / path).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


@router.api_route("/{path:path}", methods=["GET", "HEAD"])
async def console(path: str, request: Request) -> Response:
    root: Path | None = request.app.state.console_root
    if is_api_path(request.url.path):
        raise NotFound(f"No API route answers {request.url.path}.")
    if root is None:
        raise NotFound(
            "The web console is not built here: run `make run` (or `npm run build` in web/) "
            "and set CRM_WEB_DIR to the built directory."
        )
    found = console_file(root, path)
    if found is not None:
        cache = IMMUTABLE if path.startswith(ASSETS_PREFIX) else NO_CACHE
        return FileResponse(found, headers={"cache-control": cache})
    if path.startswith(ASSETS_PREFIX):
        raise NotFound(f"No such file: {request.url.path}.")
    return FileResponse(root / "index.html", headers={"cache-control": NO_CACHE})


def console_root(web_dir: Path | None) -> Path | None:
    """The built console's directory when it holds an ``index.html``, else None."""
    if web_dir is None:
        return None
    root = web_dir.resolve()
    return root if (root / "index.html").is_file() else None
