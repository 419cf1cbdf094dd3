"""Route dispatch by path: a request for a path without parameters tries only the routes that can match it.

Starlette tries every route in order until one matches, so a route near the end of the app's list (`$signpost`,
the directory search) paid for a regular-expression match against each route before it (bench/README.md). Here
each path that some route names exactly (no `{parameter}`) maps to the routes whose pattern matches that path, in
their original order: the same routes answer as before (the first full match; else the first that matched all but
the method, for 405), and any other path takes Starlette's own walk, with its 404 and slash redirects.
"""

from starlette.routing import BaseRoute, Match, Mount, Route, Router, WebSocketRoute, get_route_path
from starlette.types import Receive, Scope, Send


class PathIndex:
    """The router's entry point, consulting an index of its parameter-free paths first."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self._index: dict[str, list[BaseRoute]] = {}
        self._built_for = -1  # how many routes the index was built from (routes added later rebuild it)

    def _candidates(self, path: str) -> list[BaseRoute] | None:
        routes = self.router.routes
        if len(routes) != self._built_for:
            exact = {r.path for r in routes if isinstance(r, Route) and not r.param_convertors}
            self._index = {named: [r for r in routes if _can_match(r, named)] for named in exact}
            self._built_for = len(routes)
        return self._index.get(path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        candidates = self._candidates(get_route_path(scope)) if scope["type"] == "http" else None
        if candidates is None:
            await self.router.app(scope, receive, send)
            return
        scope.setdefault("router", self.router)
        partial: tuple[BaseRoute, Scope] | None = None
        for route in candidates:
            match, child_scope = route.matches(scope)
            if match == Match.FULL:
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match == Match.PARTIAL and partial is None:
                partial = route, child_scope
        if partial is None:
            await self.router.app(scope, receive, send)
            return
        scope.update(partial[1])
        await partial[0].handle(scope, receive, send)


def _can_match(route: BaseRoute, path: str) -> bool:
    """Whether the route could match a request for `path` (a kind of route this does not know: assume it could)."""
    if isinstance(route, Route | WebSocketRoute | Mount):
        return route.path_regex.match(path) is not None
    return True


def index_paths(router: Router) -> None:
    """Dispatch the router's requests through a `PathIndex` (its middleware stack is its entry point)."""
    router.middleware_stack = PathIndex(router)
