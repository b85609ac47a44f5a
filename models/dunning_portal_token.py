import hashlib
import hmac
import secrets
from datetime import timedelta

from odoo import api, fields, models

# 32 random bytes (256 bits): far beyond guessing, even at any request rate.
TOKEN_BYTES = 32
DEFAULT_DAYS = 60


def hash_token(token):
    """The SHA-256 of a customer page token, as stored.

    The token carries 256 bits of entropy, so a fast unsalted hash is enough:
    the stored digest cannot be reversed or brute-forced, and a leak of the
    table (a backup, a read-only SQL user) gives no working link.
    """
    return hashlib.sha256(token.encode()).hexdigest()


class DunningPortalToken(models.Model):
    """A link to a customer's statement page, as sent in one reminder.

    Only the token's hash is stored: the link itself exists only in the message
    that carried it. Each reminder gets a new token (rotation): an old link keeps
    working until it expires, and revoking stops every link of the customer.
    """

    _name = "dunning.portal.token"
    _description = "Customer Page Link"
    _order = "create_date desc, id desc"
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        readonly=True,
        ondelete="cascade",
        help="The commercial partner whose statement the link shows.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, readonly=True, ondelete="cascade"
    )
    token_hash = fields.Char(required=True, readonly=True, copy=False)
    expires_at = fields.Datetime(required=True, readonly=True)
    revoked_at = fields.Datetime(readonly=True, copy=False)
    last_used_at = fields.Datetime(readonly=True, copy=False)
    reminder_id = fields.Many2one(
        "dunning.reminder", readonly=True, index="btree_not_null", ondelete="set null"
    )

    _sql_constraints = [
        ("token_hash_unique", "UNIQUE(token_hash)", "A link must be unique."),
    ]

    # ------------------------------------------------------------------------------
    # Minting and checking
    # ------------------------------------------------------------------------------

    @api.model
    def _mint(self, partner, company, reminder=None):
        """A new link for ``partner``'s statement in ``company``: the raw token.

        The raw token is returned once and never stored.
        """
        token, values = self._new_link(partner, company, reminder)
        self.sudo().create(values)
        return token

    @api.model
    def _mint_many(self, reminders):
        """:meth:`_mint` for each of ``reminders`` (its customer, its company),
        created together: ``{reminder id: raw token}``."""
        links = {
            reminder.id: self._new_link(
                reminder.partner_id, reminder.company_id, reminder
            )
            for reminder in reminders
        }
        self.sudo().create([values for _token, values in links.values()])
        return {key: token for key, (token, _values) in links.items()}

    @api.model
    def _new_link(self, partner, company, reminder=None):
        """A raw token and the values of its record, not created."""
        partner = partner.commercial_partner_id
        token = secrets.token_urlsafe(TOKEN_BYTES)
        policy = partner._dunning_policy(company)
        days = (policy.portal_token_days if policy else 0) or DEFAULT_DAYS
        return token, {
            "partner_id": partner.id,
            "company_id": company.id,
            "token_hash": hash_token(token),
            "expires_at": fields.Datetime.now() + timedelta(days=days),
            "reminder_id": reminder and reminder.id,
        }

    @api.model
    def _find_valid(self, token):
        """The live token record matching ``token``, or an empty recordset.

        The look-up goes through the unique index on the hash; the match is then
        confirmed with a constant-time comparison, so that nothing about a
        wrong token is learned from the response time.
        """
        if not token or not isinstance(token, str) or len(token) > 128:
            return self.browse()
        digest = hash_token(token)
        record = self.sudo().search([("token_hash", "=", digest)], limit=1)
        if not record or not hmac.compare_digest(record.token_hash, digest):
            return self.browse()
        now = fields.Datetime.now()
        if record.revoked_at or record.expires_at <= now:
            return self.browse()
        record.last_used_at = now
        return record

    @api.model
    def _revoke(self, partners):
        """Stop every link to the statement of ``partners`` at once."""
        live = self.sudo().search(
            [
                ("partner_id", "in", partners.commercial_partner_id.ids),
                ("revoked_at", "=", False),
                ("expires_at", ">", fields.Datetime.now()),
            ]
        )
        live.write({"revoked_at": fields.Datetime.now()})
        return len(live)

    @api.autovacuum
    def _gc_expired(self):
        """Forget links dead for more than a year (the audit keeps a year)."""
        limit = fields.Datetime.now() - timedelta(days=365)
        self.sudo().search([("expires_at", "<", limit)]).unlink()

    @api.model
    def _url_many(self, reminders):
        """:meth:`_url` of a new link for each of ``reminders``, minted
        together: ``{reminder id: url}``."""
        tokens = self._mint_many(reminders)
        return {
            reminder.id: f"{reminder.partner_id.get_base_url()}/cobranza/"
            f"{tokens[reminder.id]}"
            for reminder in reminders
        }

    @api.model
    def _url(self, partner, company, reminder=None):
        """Absolute URL of a new link to ``partner``'s statement in ``company``."""
        token = self._mint(partner, company, reminder=reminder)
        return f"{partner.get_base_url()}/cobranza/{token}"
