"""Server-rendered pages for the people who use Signpost (NHS design system, Jinja2, no inline script or style).

`routes.router` is mounted by the app; `errors.install(app)` answers page problems as pages.
"""
