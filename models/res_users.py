from odoo import models


class ResUsers(models.Model):
    _inherit = "res.users"

    def _dunning_in_my_lang(self, records):
        """``records`` in this user's language.

        What the engine writes for a collector or a manager (an activity, a
        chatter note) reads in their language, whoever triggered it: a cron
        runs as the system in English, the customer page as the public user
        in the customer's language. Translate with ``records.env._()``.
        """
        lang = self[:1].lang or records.env.lang
        return records.with_context(lang=lang)
