from odoo import api, fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    dunning_policy_id = fields.Many2one(
        "dunning.policy",
        string="Default Collection Policy",
        domain="[('company_id', '=', id)]",
        help="The collection policy of customers that have none of their own.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        companies = super().create(vals_list)
        companies.filtered(lambda c: not c.dunning_policy_id)._dunning_create_policy()
        return companies

    def _dunning_create_policy(self):
        """Give each company a copy of the shipped default policy."""
        template = self.env.ref(
            "account_dunning.dunning_policy_default", raise_if_not_found=False
        )
        if not template:
            return
        # Whoever may create a company gets its policy, even without the
        # Collection Manager role.
        template = template.sudo()
        for company in self.sudo():
            if template.company_id == company:
                company.dunning_policy_id = template
                continue
            company.dunning_policy_id = template._copy_for_company(company)
