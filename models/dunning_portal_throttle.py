from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

# Requests allowed per minute on the customer page: per client address, and per
# link. Overridable with the system parameters account_dunning.portal_rate_ip and
# account_dunning.portal_rate_token.
DEFAULT_RATE_IP = 60
DEFAULT_RATE_TOKEN = 30


class DunningPortalThrottle(models.Model):
    """Request counters of the public customer page, one row per key and minute.

    In the database rather than in memory: Odoo runs several worker processes
    (and sometimes several machines) behind one address, and an in-process
    counter would let a client spread its attempts over the workers. One
    upsert per request is cheap next to rendering the page.
    """

    _name = "dunning.portal.throttle"
    _description = "Customer Page Request Counter"
    _log_access = False

    key = fields.Char(required=True, readonly=True)
    window_start = fields.Datetime(required=True, readonly=True)
    hits = fields.Integer(required=True, readonly=True, default=0)

    _sql_constraints = [
        ("key_window_unique", "UNIQUE(key, window_start)", "One counter per minute."),
    ]

    @api.model
    def _hit(self, key, limit):
        """Count a request under ``key``; False when ``limit`` per minute is passed.

        Raw SQL: the increment must be one atomic statement across workers, which
        the ORM's read-then-write cannot give.
        """
        now = fields.Datetime.now()
        window = now.replace(second=0, microsecond=0)
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO dunning_portal_throttle (key, window_start, hits)
                VALUES (%s, %s, 1)
                ON CONFLICT (key, window_start)
                DO UPDATE SET hits = dunning_portal_throttle.hits + 1
                RETURNING hits
                """,
                key,
                window,
            )
        )
        return self.env.cr.fetchone()[0] <= limit

    @api.model
    def _limit(self, kind):
        default = DEFAULT_RATE_IP if kind == "ip" else DEFAULT_RATE_TOKEN
        value = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param(f"account_dunning.portal_rate_{kind}")
        )
        try:
            return int(value) if value else default
        except ValueError:
            return default

    @api.model
    def _allow_ip(self, ip):
        """Whether the client address is under its rate (checked first, so that
        guessing links is slowed down before any look-up)."""
        return self._hit(f"ip:{ip}", self._limit("ip"))

    @api.model
    def _allow_token(self, token):
        """Whether a valid link is under its rate, whatever the addresses using it."""
        return self._hit(f"token:{token.id}", self._limit("token"))

    @api.autovacuum
    def _gc_old_windows(self):
        limit = fields.Datetime.now() - timedelta(hours=1)
        self.env.cr.execute(
            SQL("DELETE FROM dunning_portal_throttle WHERE window_start < %s", limit)
        )
