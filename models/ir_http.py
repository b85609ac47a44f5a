from werkzeug.exceptions import HTTPException

from odoo import models
from odoo.http import request

# Every path of the customer page, the routes with a token and /cobranza/paid.
PORTAL_PATH_PREFIX = "/cobranza/"
# The page's URL is its credential, and the page shows a customer's statement:
# no browser may tell another site where it came from (Referer), and no
# browser or proxy may keep a copy of any answer (a shared computer's history
# or cache, a company proxy).
PORTAL_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _post_dispatch(cls, response):
        """Every answer of a customer page route: pages, PDFs, redirections after
        a form, and the 404 and 429 the routes return themselves."""
        result = super()._post_dispatch(response)
        if cls._is_dunning_portal_request():
            response.headers.update(PORTAL_HEADERS)
        return result

    @classmethod
    def _handle_error(cls, exception):
        """The answers no route returns: a refused form (CSRF), an unknown path
        under the page, an error raised by a route."""
        response = super()._handle_error(exception)
        if not cls._is_dunning_portal_request():
            return response
        if isinstance(response, HTTPException):
            # An exception answers as a WSGI application without headers of
            # its own to set: its response carries them.
            response = response.get_response(request.httprequest.environ)
        response.headers.update(PORTAL_HEADERS)
        return response

    @classmethod
    def _is_dunning_portal_request(cls):
        return bool(request) and request.httprequest.path.startswith(PORTAL_PATH_PREFIX)
