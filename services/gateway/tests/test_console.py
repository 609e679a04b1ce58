"""The web console served at /: files as they are, the app's own pages as index.html, the
API's unknown paths still problem+json, the console's own Content-Security-Policy."""

from pathlib import Path

import pytest

from .conftest import MIGRATIONS_DIR
from .factories import start_people

INDEX = "<!doctype html><html><body><div id=app></div><script src=/assets/app-1a2b.js></script>"


@pytest.fixture
def built(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "assets" / "app-1a2b.js").write_text("console.log('crm')")
    (tmp_path / "favicon.ico").write_bytes(b"\0icon")
    (tmp_path.parent / "secret.txt").write_text("not served")
    return tmp_path


async def test_pages_files_and_api_paths(database_factory, amqp_url, built: Path) -> None:
    url = await database_factory("console", migrations=MIGRATIONS_DIR)
    async with start_people(url, amqp_url, web_dir=built) as gateway:
        client = gateway.client
        for page in ("/", "/customers", "/customers/c-1/360", "/survey/eyJhbGciOi.abc.def"):
            response = await client.get(page)
            assert response.status_code == 200, page
            assert response.text == INDEX
            assert response.headers["cache-control"] == "no-cache"
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "connect-src 'self'" in csp
            assert "frame-ancestors 'none'" in csp
        asset = await client.get("/assets/app-1a2b.js")
        assert asset.status_code == 200 and asset.text == "console.log('crm')"
        assert "immutable" in asset.headers["cache-control"]
        assert (await client.head("/favicon.ico")).status_code == 200
        missing_asset = await client.get("/assets/gone-9z.js")
        assert missing_asset.status_code == 404
        assert missing_asset.headers["content-type"] == "application/problem+json"
        for outside in ("/../secret.txt", "/assets/..%2F..%2Fsecret.txt", "/%2e%2e/secret.txt"):
            response = await client.get(outside)
            assert "not served" not in response.text, outside
        unknown_api = await client.get("/api/v2/nothing")
        assert unknown_api.status_code == 404
        assert unknown_api.headers["content-type"] == "application/problem+json"
        assert unknown_api.headers["content-security-policy"].startswith("default-src 'none'")
        # The API itself is unchanged.
        me = await client.get("/api/v1/auth/me", headers=gateway.admin)
        assert me.status_code == 200


async def test_without_a_built_console_pages_are_404_problems(
    database_factory, amqp_url, tmp_path: Path
) -> None:
    url = await database_factory("console_absent", migrations=MIGRATIONS_DIR)
    async with start_people(url, amqp_url, web_dir=tmp_path / "nothing-here") as gateway:
        response = await gateway.client.get("/customers")
        assert response.status_code == 404
        assert "not built" in response.json()["detail"]
