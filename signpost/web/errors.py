"""Problems met on pages are answered as pages: a redirect to sign in, or an HTML explanation."""

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from signpost.web import render
from signpost.web.deps import PageProblem


def install(app: FastAPI) -> None:
    """Register the page problem handler (PageProblem is a Problem, so this one is more specific)."""

    @app.exception_handler(PageProblem)
    async def _page_problem(request: Request, exc: PageProblem) -> Response:
        if 300 <= exc.status < 400:
            return RedirectResponse(exc.headers.get("Location", "/sign-in"), status_code=exc.status)
        title = {403: "You cannot do this", 404: "Page not found"}.get(exc.status, "Sorry, there is a problem")
        settings = request.app.state.settings
        return render.page(request, settings, "error.html", status=exc.status, title=title, detail=exc.detail)
