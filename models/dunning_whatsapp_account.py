import logging
import queue
import re
import threading
import time
from collections import defaultdict
from datetime import timedelta
from urllib.parse import urlsplit

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from ..services.backoff import CompletionWindowLimiter, TokenBucket
from ..services.whatsapp.client import WhatsAppClient
from ..services.whatsapp.errors import TemplateParamsError, WhatsAppError
from .dunning_whatsapp_pacing import _PacedSession, is_loopback_url, pace  # noqa: F401

_logger = logging.getLogger(__name__)

SECRET_GROUP = "base.group_system"
# Where the access token is sent: whoever sets these can read the token on a
# server of theirs, so they are as secret as the token itself.
CONNECTION_FIELDS = ("api_base_url", "api_version", "phone_number_id")
API_VERSION_RE = re.compile(r"v\d{1,3}\.\d{1,3}")
# One pacer per (database, account, rate) in this process: workers that send for
# the same number must share one dispatcher or split the rate between them.
_PACERS = {}
_PACERS_LOCK = threading.Lock()
# (connect, read) seconds for Meta's API: a read timeout leaves a send uncertain,
# never resent.
CLIENT_TIMEOUT = (5, 20)
# The pacers' clock and sleep. Tests replace both with a fake clock whose sleep
# only moves it, and check the pacing on that clock instead of waiting. No
# clock means time.monotonic, looked up at each use: a module attribute holding
# it is one that freezegun remembers and swaps for its own clock in every later
# freeze_time of the process, over the test's fake clock.
PACING_CLOCK = None
PACING_SLEEP = time.sleep


class DunningWhatsappAccount(models.Model):
    """A WhatsApp Business Cloud API phone number the company sends reminders from.

    The token and the secrets are readable by system administrators only:
    collectors see the account (its name, its number, whether it is paused) but
    never what lets anyone send or forge webhooks in the company's name.
    Where the token goes (``CONNECTION_FIELDS``) is the administrators' too: a
    collection manager pointing the base URL at a server of theirs would
    receive the token with the next call.
    """

    _name = "dunning.whatsapp.account"
    _description = "WhatsApp Business Account"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "company_id, name"
    _check_company_auto = True

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    state = fields.Selection(
        [("active", "Active"), ("paused", "Paused")],
        default="active",
        required=True,
        tracking=True,
        help="A paused account sends nothing: Meta refused its token or its "
        "permissions, or a manager paused it.",
    )
    pause_reason = fields.Text(readonly=True)
    phone_number_id = fields.Char(
        string="Phone Number ID",
        required=True,
        index=True,
        help="The phone number's id in Meta's WhatsApp Manager (not the number).",
    )
    display_phone_number = fields.Char(
        readonly=True, help="The number as Meta reports it (Test Connection)."
    )
    waba_id = fields.Char(string="WhatsApp Business Account ID")
    access_token = fields.Char(
        groups=SECRET_GROUP,
        copy=False,
        help="A System User token with the whatsapp_business_messaging permission.",
    )
    app_secret = fields.Char(
        groups=SECRET_GROUP,
        copy=False,
        help="The Meta app's secret: webhooks are accepted only when signed with it.",
    )
    verify_token = fields.Char(
        groups=SECRET_GROUP,
        copy=False,
        help="Any random string; type the same in the webhook settings of the app.",
    )
    api_version = fields.Char(string="API Version", default="v21.0", required=True)
    api_base_url = fields.Char(
        string="API Base URL",
        default="https://graph.facebook.com",
        required=True,
    )
    is_sandbox = fields.Boolean(
        string="Sandbox",
        compute="_compute_is_sandbox",
        store=True,
        help="The API base URL is on this machine (loopback): a local test "
        "server such as the demo's sandbox answers, and no message reaches "
        "WhatsApp.",
    )
    rate_per_second = fields.Integer(
        default=20,
        help="Messages per second sent from this number (Meta allows 80, or 20 "
        "for numbers shared with the WhatsApp Business app).",
    )
    daily_recipient_budget = fields.Integer(
        default=250,
        help="Business-initiated conversations allowed per rolling 24 hours by "
        "the portfolio's messaging tier; sending stops there.",
    )
    template_ids = fields.One2many(
        "dunning.whatsapp.template", "account_id", string="Templates"
    )

    _sql_constraints = [
        (
            "phone_number_id_unique",
            "UNIQUE(phone_number_id)",
            "A WhatsApp phone number can be configured only once.",
        ),
    ]

    @api.depends("api_base_url")
    def _compute_is_sandbox(self):
        for account in self:
            account.is_sandbox = is_loopback_url(account.api_base_url)

    @api.constrains(*CONNECTION_FIELDS)
    def _check_connection(self):
        for account in self:
            problem = account._connection_problem()
            if problem:
                raise ValidationError(problem)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_connection_access(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._check_connection_access(vals)
        return super().write(vals)

    def _check_connection_access(self, vals):
        if self.env.is_system() or not set(CONNECTION_FIELDS) & set(vals):
            return
        raise AccessError(
            _(
                "Only a system administrator can set where WhatsApp messages and "
                "the access token are sent (phone number ID, API version, API "
                "base URL)."
            )
        )

    # ------------------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------------------

    def action_test_connection(self):
        self.ensure_one()
        try:
            info = self._get_client().get_phone_number()
        except (WhatsAppError, ValueError) as error:
            raise UserError(
                _("WhatsApp refused the connection: %(error)s", error=error)
            ) from error
        self.display_phone_number = info.display_phone_number
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "title": _("Connection to WhatsApp works"),
                "message": _(
                    "Meta knows this phone number as %(number)s (%(name)s).",
                    number=info.display_phone_number or "",
                    name=info.verified_name or "",
                ),
                "sticky": False,
            },
        }

    def action_sync_templates(self):
        """Import the message templates of the WhatsApp Business Account from Meta.

        Creates or updates one template per (name, language) with Meta's status,
        category, body and buttons; marks the ones Meta no longer lists. Either
        everything is written or, on an API error, nothing.
        """
        counts = defaultdict(int)
        for account in self:
            for key, count in account._sync_templates().items():
                counts[key] += count
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "warning" if counts["review"] else "success",
                "title": _("WhatsApp templates synced from Meta"),
                "message": self._sync_summary(counts),
                "sticky": bool(counts["review"]),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def action_add_shipped_templates(self):
        """Add the shipped templates (Mexican Spanish and English): the
        reminder of each step of the ladder, the promise confirmation and the
        thank-you, to submit to Meta; each level gets the reminder of its step
        unless a manager chose another template for it."""
        self.ensure_one()
        created = self.env["dunning.whatsapp.template"]._create_shipped_templates(self)
        self.env["dunning.level"]._assign_shipped_whatsapp_templates(self.company_id)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success" if created else "info",
                "title": _("WhatsApp"),
                "message": _(
                    "%(count)s template(s) added. Submit them to Meta in WhatsApp "
                    "Manager with the same names, languages and bodies, then sync "
                    "the templates: they become sendable once approved.",
                    count=len(created),
                ),
                "sticky": False,
            },
        }

    def action_pause(self):
        for account in self:
            account._pause(_("Paused by %(user)s.", user=self.env.user.name))
        return True

    def action_resume(self):
        self.write({"state": "active", "pause_reason": False})
        return True

    # ------------------------------------------------------------------------------
    # Crons
    # ------------------------------------------------------------------------------

    @api.model
    def _cron_sync_templates(self):
        """Refresh every active account's templates: Meta pauses and disables
        templates on its own (quality), and a paused template must not be sent.

        One account's error does not stop the others: it is logged on the
        account for its managers.
        """
        accounts = self.search([("state", "=", "active"), ("waba_id", "!=", False)])
        for done, account in enumerate(accounts, start=1):
            try:
                with self.env.cr.savepoint():
                    account._sync_templates()
            except UserError as error:
                _logger.warning(
                    "WhatsApp templates of account %s not synced: %s",
                    account.id,
                    error.args[0],
                )
                account.message_post(body=error.args[0])
            self.env["ir.cron"]._notify_progress(
                done=done, remaining=len(accounts) - done
            )

    # ------------------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------------------

    def _connection_problem(self):
        """Why these connection settings are refused, or None.

        The token travels to ``base_url`` as a bearer header: only over https,
        except to this machine (a test server or the demo's sandbox), and to a
        bare origin (no credentials, path, query or fragment to smuggle it
        elsewhere). The version and the number's id become path segments.
        """
        self.ensure_one()
        base_url, version = self.api_base_url, self.api_version
        phone_number_id = self.phone_number_id
        try:
            url = urlsplit(base_url or "")
            # Reading the port raises ValueError on a malformed one.
            port_ok = url.port is None or url.port > 0
        except ValueError:
            url, port_ok = None, False
        if not port_ok or not url.hostname or url.scheme not in ("https", "http"):
            return _(
                "The API base URL must be a web address such as %(url)s.",
                url="https://graph.facebook.com",
            )
        if url.scheme != "https" and not is_loopback_url(base_url):
            return _(
                "The API base URL must use https: the access token is sent to it "
                "(only a test server on this machine may use http)."
            )
        if (
            url.username
            or url.password
            or url.query
            or url.fragment
            or (url.path not in ("", "/"))
        ):
            return _(
                "The API base URL is the server's address only, such as %(url)s: no "
                "path, user, query or fragment.",
                url="https://graph.facebook.com",
            )
        if not API_VERSION_RE.fullmatch(version or ""):
            return _("The API version looks like v21.0.")
        if not (phone_number_id or "").isdigit():
            return _(
                "The phone number ID is the number's id in Meta's WhatsApp Manager: "
                "digits only."
            )
        return None

    def _sync_templates(self):
        """Sync this account's templates from Meta; return the counts by outcome.

        Meta is read entirely before anything is written: an API error leaves
        the templates as they were.
        """
        self.ensure_one()
        # Only those who may edit templates (managers, the cron) sync them:
        # refused before Meta is even called.
        self.env["dunning.whatsapp.template"].check_access("write")
        if not self.waba_id:
            raise UserError(
                _(
                    "Set the WhatsApp Business Account ID of %(account)s to sync "
                    "its templates.",
                    account=self.name,
                )
            )
        try:
            infos = self._get_client().list_templates(self.waba_id.strip())
        except (WhatsAppError, ValueError) as error:
            raise UserError(
                _(
                    "The templates of %(account)s could not be read from Meta: "
                    "%(error)s",
                    account=self.name,
                    error=error,
                )
            ) from error
        templates = self.env["dunning.whatsapp.template"]
        existing = {
            (t.name, t.language): t
            for t in templates.search([("account_id", "=", self.id)])
        }
        now = fields.Datetime.now()
        counts = defaultdict(int)
        seen = templates
        for info in infos:
            try:
                param_count = info.body_param_count
            except TemplateParamsError:
                # Named parameters ({{customer}}): not fillable from a reminder;
                # imported for the record, never sendable as is.
                param_count = -1
            values = templates._values_from_meta(info)
            language = info.language or "es_MX"
            template = existing.get((info.name, language))
            if template:
                changes = template._apply_meta(values, param_count)
                template.synced_at = now
                if changes:
                    counts["updated"] += 1
                if "status" in changes:
                    counts[template.status] += 1
            else:
                template = templates.create(
                    {
                        **values,
                        "name": info.name,
                        "language": language,
                        "account_id": self.id,
                        # No mapping yet: a manager says where each {{n}} comes
                        # from before the template can be sent.
                        "needs_review": param_count != 0,
                        "synced_at": now,
                    }
                )
                counts["created"] += 1
                if template.status != "approved":
                    counts[template.status] += 1
            if template.needs_review:
                counts["review"] += 1
            seen |= template
        # A template not submitted yet (a shipped notice template) is not
        # expected on Meta.
        missing = (templates.browse([t.id for t in existing.values()]) - seen).filtered(
            lambda t: t.status not in ("missing", "draft")
        )
        missing.write({"status": "missing", "synced_at": now})
        counts["missing"] += len(missing)
        return counts

    @api.model
    def _sync_summary(self, counts):
        """ "3 created, 2 updated, 1 paused" for the sync's notification."""
        labels = dict(
            self.env["dunning.whatsapp.template"]
            ._fields["status"]
            ._description_selection(self.env)
        )
        parts = [
            _("%(count)s created", count=counts["created"]),
            _("%(count)s updated", count=counts["updated"]),
        ]
        for status in ("paused", "disabled", "rejected", "pending", "in_appeal"):
            if counts[status]:
                parts.append(
                    _(
                        "%(count)s %(status)s",
                        count=counts[status],
                        status=labels[status].lower(),
                    )
                )
        if counts["missing"]:
            parts.append(
                _("%(count)s no longer on Meta (marked)", count=counts["missing"])
            )
        summary = ", ".join(parts)
        if counts["review"]:
            summary = _(
                "%(summary)s. %(count)s template(s) need their body parameters "
                "mapped before they can be sent.",
                summary=summary,
                count=counts["review"],
            )
        return summary

    def _get_client(self):
        """The Cloud API client of this account (token read as superuser).

        Its sends go through this number's arrival limiter (:meth:`_pacers`).
        """
        self.ensure_one()
        account = self.sudo()
        return WhatsAppClient(
            account.api_base_url,
            account.api_version,
            account.phone_number_id,
            account.access_token or "",
            timeout=CLIENT_TIMEOUT,
            session=_PacedSession(self._pacers()[1]),
        )

    def _pacers(self):
        """This number's (token bucket, arrival limiter), shared in the process."""
        self.ensure_one()
        rate = max(self.rate_per_second, 1)
        clock, sleep = PACING_CLOCK or time.monotonic, PACING_SLEEP
        # The clock is part of the key: pacers never mix a test's clock with time.
        key = (self.env.cr.dbname, self.id, rate, clock)
        with _PACERS_LOCK:
            if key not in _PACERS:
                _PACERS[key] = (
                    TokenBucket(rate, clock=clock),
                    CompletionWindowLimiter(rate, clock=clock, sleep=sleep),
                )
            return _PACERS[key]

    def _pace(self):
        """Wait for this number's next sending slot (``rate_per_second``).

        The token bucket spaces the sends evenly; the client's arrival limiter
        then makes sure Meta never receives more than ``rate_per_second`` in
        any second, however late a request reaches it.
        """
        pace(self._pacers()[0])

    def _client_pool(self, size):
        """``size`` clients of this account in a queue, for calls made from
        threads: each borrows one for its call (a session is not shared by
        two threads at once); they share the number's pacers."""
        self.ensure_one()
        pool = queue.SimpleQueue()
        for _index in range(size):
            pool.put(self._get_client())
        return pool

    def _budget_full_until(self, partner, now, message=None):
        """When a new customer may be messaged again, if the daily budget is used.

        Meta counts business-initiated unique recipients per rolling 24 hours:
        a customer already messaged in the window costs nothing more; a new one
        waits until the oldest message of the window is 24 hours old.

        Only the messages handed to Meta count, from the time they left: those
        ``sending`` (the call is in flight or its outcome uncertain: it may have
        reached Meta), ``sent``, ``delivered`` or ``read``, and those ``failed``
        after Meta accepted them (they have a WhatsApp ID: it failed to deliver
        them later). A notice ``queued`` for the contact window, a ``cancelled``
        one and a request Meta refused (``failed`` without an ID) never left.
        The time is ``sent_at``; a message still ``sending`` has none: its claim
        (a notice) or its creation (a reminder, created just before its call).

        :param message: the outgoing message about to leave, already claimed
            (a notice): it does not count itself
        """
        self.ensure_one()
        if self.daily_recipient_budget <= 0:
            return None
        since = now - timedelta(hours=24)
        self.env["dunning.whatsapp.message"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT partner_id, MIN(left_at)
                  FROM (SELECT partner_id,
                               COALESCE(sent_at, claimed_at, create_date) AS left_at
                          FROM dunning_whatsapp_message
                         WHERE account_id = %(account)s
                           AND direction = 'out'
                           AND partner_id IS NOT NULL
                           AND id != %(message)s
                           AND (state IN ('sending', 'sent', 'delivered', 'read')
                                OR (state = 'failed' AND wamid IS NOT NULL))
                       ) AS gone
                 WHERE left_at > %(since)s
              GROUP BY partner_id
                """,
                account=self.id,
                message=message.id if message else 0,
                since=since,
            )
        )
        first_by_partner = dict(self.env.cr.fetchall())
        if partner.id in first_by_partner:
            return None
        if len(first_by_partner) < self.daily_recipient_budget:
            return None
        return min(first_by_partner.values()) + timedelta(hours=24)

    def _pause(self, reason):
        """Stop every send of this account and tell the collection managers."""
        self.ensure_one()
        self.sudo().write({"state": "paused", "pause_reason": reason})
        _logger.warning("WhatsApp account %s paused: %s", self.id, reason)
        self.sudo().message_post(
            body=_("WhatsApp sending paused: %(reason)s", reason=reason)
        )
        managers = self.env.ref("account_dunning.group_dunning_manager").sudo().users
        managers = managers.filtered(
            lambda u: self.company_id in u.company_ids and not u.share
        )
        activity_type = self.env.ref("mail.mail_activity_data_todo")
        model = self.env["ir.model"]._get_id(self._name)
        activities = self.env["mail.activity"].sudo()
        for user in managers:
            activities.create(
                {
                    "res_model_id": model,
                    "res_id": self.id,
                    "activity_type_id": activity_type.id,
                    "summary": _("WhatsApp account paused"),
                    "note": reason,
                    "user_id": user.id,
                }
            )

    @api.model
    def _find_by_phone_number_id(self, phone_number_id):
        """The configured account for a webhook's ``metadata.phone_number_id``."""
        if not phone_number_id or not isinstance(phone_number_id, str):
            return self.browse()
        return (
            self.sudo()
            .with_context(active_test=False)
            .search([("phone_number_id", "=", phone_number_id)], limit=1)
        )
