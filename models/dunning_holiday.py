from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..services import holidays as statutory

# Statutory rows are listed for the current year and the next ones, so that an
# accountant sees (and may switch off) the days ahead; the contact window itself
# computes the days of any year and never depends on these rows existing.
LISTED_YEARS_AHEAD = 1


class DunningHoliday(models.Model):
    """A rest day of a country: no collection contact on that local date.

    Two kinds of rows:

    - statutory days (``rule_code`` set), computed by ``services.holidays`` from
      the labour law of each supported country. The contact window computes them
      on the fly for any year, so that no year is ever left without holidays and
      no database query is added; rows are only written (at install and update,
      then by a monthly scheduled action) for this year and the next, so that
      the list shows what is coming. Archiving such a row switches that day off:
      reminders go out on it again. A yearly rule engine rather than Odoo's
      resource calendar leaves, which describe a company's working time, not the
      rest days of the debtor's country, and would add a dependency on
      ``resource``.
    - days added by users (no ``rule_code``): a local holiday, a bridge day, a
      company closure (``company_id`` set: only that company's policies skip it).
    """

    _name = "dunning.holiday"
    _description = "Collection Holiday"
    _order = "date desc, country_id"

    name = fields.Char(required=True, translate=True)
    active = fields.Boolean(
        string="Observed",
        default=True,
        help="Switch off to allow contact on this day. A statutory day that is "
        "switched off stays off; it is not computed again.",
    )
    date = fields.Date(required=True, index=True)
    country_id = fields.Many2one("res.country", required=True, index=True)
    company_id = fields.Many2one(
        "res.company",
        index=True,
        help="Only the collection policies of this company skip this day (a "
        "company closure). Leave empty for every company.",
    )
    rule_code = fields.Char(
        readonly=True,
        index=True,
        copy=False,
        help="The legal rule this statutory day comes from; empty for the days "
        "added by users.",
    )
    origin = fields.Selection(
        [("statutory", "Statutory"), ("added", "Added")],
        compute="_compute_origin",
        store=True,
    )

    # The same key as before the days were computed, with a new definition, so
    # that updating the add-on replaces the old UNIQUE(country_id, date): users may
    # now add a day a statutory day already falls on (a company closure).
    _sql_constraints = [
        (
            "date_country_unique",
            "UNIQUE(country_id, date, rule_code)",
            "This country already has this statutory holiday on that date.",
        ),
    ]

    @api.depends("rule_code")
    def _compute_origin(self):
        for holiday in self:
            holiday.origin = "statutory" if holiday.rule_code else "added"

    @api.ondelete(at_uninstall=False)
    def _unlink_except_statutory(self):
        if any(holiday.rule_code for holiday in self):
            raise UserError(
                _(
                    "A statutory holiday comes back every year: switch it off "
                    "(Observed) instead of deleting it."
                )
            )

    @api.model
    def _cron_generate_statutory(self):
        """List the statutory days of this year and the next ones."""
        created = self._generate_statutory()
        self.env["ir.cron"]._notify_progress(done=len(created), remaining=0)

    @api.model
    def _generate_statutory(self, years=None):
        """Write the missing statutory rows of ``years`` (default: this year and
        the next ones) for every supported country; idempotent.

        A row a user archived is found and left as it is. A row without a rule on
        the date of a statutory day, for every company, is taken over (its name
        kept): the fixed Mexican dates shipped before the rules were computed
        become the statutory rows of their years.

        :return: the created rows
        """
        if years is None:
            today = fields.Date.context_today(self)
            years = range(today.year, today.year + LISTED_YEARS_AHEAD + 1)
        years = sorted(years)
        if not years:
            return self.browse()
        countries = self.env["res.country"].search(
            [("code", "in", statutory.supported_countries())]
        )
        existing = (
            self.with_context(active_test=False)
            .sudo()
            .search(
                [
                    ("country_id", "in", countries.ids),
                    ("company_id", "=", False),
                    ("date", ">=", fields.Date.to_date(f"{years[0]}-01-01")),
                    ("date", "<=", fields.Date.to_date(f"{years[-1]}-12-31")),
                ]
            )
        )
        by_rule = {(row.country_id.id, row.date, row.rule_code) for row in existing}
        unruled = {
            (row.country_id.id, row.date): row for row in existing if not row.rule_code
        }
        to_create = []
        for country in countries:
            for year in years:
                for holiday in statutory.holidays(country.code, year):
                    if (country.id, holiday.date, holiday.code) in by_rule:
                        continue
                    adopted = unruled.pop((country.id, holiday.date), None)
                    if adopted:
                        adopted.rule_code = holiday.code
                        continue
                    to_create.append(
                        {
                            "name": holiday.name,
                            "date": holiday.date,
                            "country_id": country.id,
                            "rule_code": holiday.code,
                        }
                    )
        created = self.sudo().create(to_create)
        created._translate_statutory_names()
        return created

    def _translate_statutory_names(self):
        """Store the name of each statutory row in every installed language.

        The engine names days in English; their translations are the add-on's
        code translations of those names (services/holidays.py).
        """
        languages = [
            code
            for code, _name in self.env["res.lang"].get_installed()
            if code != "en_US"
        ]
        for lang in languages:
            env = self.with_context(lang=lang).env
            for holiday in self.with_context(lang=lang):
                source = holiday.with_context(lang="en_US").name
                translated = env._(source)
                if translated != source:
                    holiday.name = translated

    @api.model
    def _get_dates(self, country, date_from, date_to, company=None):
        """Dates from ``date_from`` to ``date_to`` (both included) on which a
        debtor of ``country`` is not contacted by ``company``'s policies.

        The country's statutory days, computed for any year, less those switched
        off, plus the days users added for every company or for ``company``. One
        query for the rows of the span, whatever their number.

        :rtype: frozenset[datetime.date]
        """
        if not country:
            return frozenset()
        computed = {
            (holiday.date, holiday.code)
            for holiday in statutory.holidays_between(country.code, date_from, date_to)
        }
        company_ids = [False, company.id] if company else [False]
        rows = (
            self.with_context(active_test=False)
            .sudo()
            .search_fetch(
                [
                    ("country_id", "=", country.id),
                    ("company_id", "in", company_ids),
                    ("date", ">=", date_from),
                    ("date", "<=", date_to),
                ],
                ["date", "active", "rule_code"],
            )
        )
        # Switched off per rule: two rules falling on one date are two days.
        switched_off = {
            (row.date, row.rule_code)
            for row in rows
            if row.rule_code and not row.active
        }
        kept = {day for day, code in computed if (day, code) not in switched_off}
        return frozenset(kept | {row.date for row in rows if row.active})

    @api.model
    def _get_dates_around(self, country, around, company=None):
        """:meth:`_get_dates` over the span a contact window looks at: from two
        days before ``around`` (local dates lag UTC) to 40 days after it (the
        window's horizon is 31 days)."""
        return self._get_dates(
            country,
            around - timedelta(days=2),
            around + timedelta(days=40),
            company=company,
        )
