"""The path index answers every request with the route Starlette's own walk would have chosen."""

from fastapi import FastAPI
from fastapi.testclient import TestClient

from signpost.ops.dispatch import index_paths


def _app(indexed: bool = True) -> FastAPI:
    app = FastAPI()

    @app.get("/items/{name}")
    def by_name(name: str) -> dict[str, str]:
        return {"route": "by name", "name": name}

    @app.get("/items/special")
    def special() -> dict[str, str]:  # shadowed: the parameter route comes first
        return {"route": "special"}

    @app.post("/things")
    def create_thing() -> dict[str, str]:
        return {"route": "create"}

    @app.get("/things")
    def list_things() -> dict[str, str]:
        return {"route": "list"}

    if indexed:
        index_paths(app.router)
    return app


def test_an_earlier_parameter_route_still_wins_over_a_later_exact_path() -> None:
    client = TestClient(_app())
    assert client.get("/items/special").json() == {"route": "by name", "name": "special"}


def test_the_route_for_the_method_answers_when_several_share_a_path() -> None:
    client = TestClient(_app())
    assert client.get("/things").json() == {"route": "list"}
    assert client.post("/things").json() == {"route": "create"}


def test_a_method_no_route_takes_is_answered_as_starlette_answers_it() -> None:
    indexed, plain = TestClient(_app()).delete("/things"), TestClient(_app(indexed=False)).delete("/things")
    assert indexed.status_code == plain.status_code == 405
    assert indexed.headers["allow"] == plain.headers["allow"]


def test_unknown_paths_and_trailing_slashes_behave_as_without_the_index() -> None:
    client = TestClient(_app(), follow_redirects=False)
    assert client.get("/nowhere").status_code == 404
    redirect = client.get("/things/")
    assert redirect.status_code == 307 and redirect.headers["location"].endswith("/things")


def test_a_route_added_after_the_first_request_is_served() -> None:
    app = _app()
    client = TestClient(app)
    assert client.get("/late").status_code == 404

    @app.get("/late")
    def late() -> dict[str, str]:
        return {"route": "late"}

    assert client.get("/late").json() == {"route": "late"}
