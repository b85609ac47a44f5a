from odoo import api, models, tools


class ResCurrency(models.Model):
    _inherit = "res.currency"

    @api.model
    @tools.ormcache()
    def _dunning_shared_symbols(self):
        """The symbols that more than one active currency uses ("$": the peso,
        the dollar): an amount in one of them needs its ISO code to be read
        right. Cached: read for every amount of every message."""
        groups = self.sudo()._read_group([], ["symbol"], ["__count"])
        return frozenset(symbol for symbol, count in groups if count > 1)

    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        if {"active", "symbol"} & vals.keys():
            self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()
