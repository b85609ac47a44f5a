from odoo import api, fields, models

# The segments every company starts with, as shipped for the main company
# (data/dunning_segment_data.xml); the others get copies.
SHIPPED_SEGMENTS = (
    "account_dunning.dunning_segment_reliable",
    "account_dunning.dunning_segment_normal",
    "account_dunning.dunning_segment_at_risk",
)


class ResCompany(models.Model):
    _inherit = "res.company"

    dunning_policy_id = fields.Many2one(
        "dunning.policy",
        string="Default Collection Policy",
        domain="[('company_id', '=', id)]",
        help="The collection policy of customers that have none of their own "
        "and are in no segment.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        companies = super().create(vals_list)
        companies.filtered(lambda c: not c.dunning_policy_id)._dunning_create_policy()
        companies._dunning_create_segments()
        return companies

    def write(self, vals):
        if "dunning_policy_id" not in vals:
            return super().write(vals)
        before = {company: company.dunning_policy_id for company in self}
        res = super().write(vals)
        # The segments that followed the company's default (the shipped
        # "Normal") follow its replacement: the standard policy stays the
        # standard policy of the standard customers.
        for company, old in before.items():
            new = company.dunning_policy_id
            if old and new and old != new:
                self.env["dunning.segment"].sudo().with_context(
                    active_test=False
                ).search(
                    [("company_id", "=", company.id), ("policy_id", "=", old.id)]
                ).write({"policy_id": new.id})
        return res

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

    @api.model
    def _dunning_create_missing_segments(self):
        """Ship the segments to the companies without any, archived included
        (called on every update of the add-on: companies created before
        segments existed; one whose segments were all deleted too)."""
        self.search([])._dunning_create_segments()

    def _dunning_create_segments(self):
        """Give each company with a default policy and no segment (archived
        included) copies of the shipped segments: the standard one on the
        company's default policy, the others on copies of their policies."""
        default = self.env.ref(
            "account_dunning.dunning_policy_default", raise_if_not_found=False
        )
        templates = [
            self.env.ref(xmlid, raise_if_not_found=False) for xmlid in SHIPPED_SEGMENTS
        ]
        templates = [template.sudo() for template in templates if template]
        if not templates:
            return
        segments = self.env["dunning.segment"].sudo().with_context(active_test=False)
        with_segments = set(
            segments.search([("company_id", "in", self.ids)]).company_id.ids
        )
        for company in self.sudo():
            if not company.dunning_policy_id or company.id in with_segments:
                continue
            copies = {}
            for template in templates:
                policy = template.policy_id
                if policy == default or policy == company.dunning_policy_id:
                    target = company.dunning_policy_id
                else:
                    if policy not in copies:
                        copies[policy] = policy._copy_for_company(company)
                    target = copies[policy]
                # A copy keeps the translations of the name and description.
                template.copy({"company_id": company.id, "policy_id": target.id})
