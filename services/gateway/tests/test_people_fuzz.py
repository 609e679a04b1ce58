"""Generated requests against the gateway's own people API (auth, users, people, API keys, audit),
signed in as an admin: no input may answer 5xx. (``test_fuzz.py`` covers the operations
the internal token opens; these refuse that token.)"""

from crm_platform.testing_fuzz import fuzz_openapi

from .factories import People, bearer, create_api_key, create_user, signed_in

PEOPLE_PREFIXES = (
    "/api/v1/auth",
    "/api/v1/users",
    "/api/v1/people",
    "/api/v1/api-keys",
    "/api/v1/audit",
)
SIGNING_OUT = ("/api/v1/auth/logout", "/api/v1/auth/logout-all")


async def test_no_generated_request_to_the_people_api_gets_a_server_error(people: People) -> None:
    person = await create_user(people)
    key = await create_api_key(people)
    report = await fuzz_openapi(
        people.app,
        headers=people.admin,
        path_examples=[{"user_id": person.id, "key_id": key["id"]}],
        max_examples=30,
        # Logging the admin out would leave the rest of the run at 401: fuzzed below.
        include=lambda method, path: path.startswith(PEOPLE_PREFIXES) and path not in SIGNING_OUT,
    )
    print(report.summary())
    assert len(report.operations) >= 15
    assert report.errors == [], report.summary()

    for signing_out in SIGNING_OUT:
        _, tokens = await signed_in(people)
        logout = await fuzz_openapi(
            people.app,
            headers=bearer(tokens["access_token"]),
            max_examples=20,
            include=lambda method, path, only=signing_out: path == only,
        )
        assert logout.errors == [], logout.summary()
