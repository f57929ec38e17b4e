"""The API reference at /schema/reference: Litestar's Swagger UI render plugin, drawing the
OpenAPI document with the Swagger UI files vendored under static/vendor/swagger-ui/ (pinned by
SWAGGER_UI_VERSION, checked by SHA256SUMS), in a page of the site (its header and footer).

The page runs under the pages' own Content-Security-Policy, unrelaxed (web/plumbing/headers.py):
the plugin's stock page loads Swagger UI from a CDN and configures it in an inline script, which
that policy refuses; this one loads it from /static and configures it in static/js/api-reference.js.
Swagger UI styles its elements through the CSSOM, which `style-src` does not govern, so
`style-src 'self'` holds too.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.router import Router

SWAGGER_UI_VERSION = "5.36.0"
REFERENCE_PATH = "/reference"  # under the OpenAPI config's path: /schema/reference
VENDORED = "/static/vendor/swagger-ui/"


class ApiReference(SwaggerRenderPlugin):
    def __init__(self) -> None:
        super().__init__(
            version=SWAGGER_UI_VERSION,
            js_url=f"{VENDORED}swagger-ui-bundle-{SWAGGER_UI_VERSION}.js",
            css_url=f"{VENDORED}swagger-ui-{SWAGGER_UI_VERSION}.css",
            path=REFERENCE_PATH,
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        engine = request.app.template_engine
        assert engine is not None  # the app always has its templates (web/app.py)
        text: str = engine.get_template("api_reference.html").render(
            js_url=self.js_url,
            css_url=self.css_url,
            document_url=self.get_openapi_json_route(request),
            title=openapi_schema["info"]["title"],
        )
        return text.encode()

    def receive_router(self, router: Router) -> None:
        """No /schema/oauth2-redirect.html: the API has no OAuth2 flow, and the page the plugin
        would serve there is an inline script."""
