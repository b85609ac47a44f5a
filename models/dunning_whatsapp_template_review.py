from odoo import _, api, models
from odoo.exceptions import ValidationError

from ..services.whatsapp.templates import MIN_WORDS_PER_VARIABLE, review_problems


class DunningWhatsappTemplate(models.Model):
    """Meta's review rules (``services/whatsapp/templates.py``), in words a
    manager reads: checked on a template to submit, told on a rejected one."""

    _inherit = "dunning.whatsapp.template"

    @api.constrains("body_text", "status")
    def _check_meta_review_rules(self):
        """A body to submit to Meta must pass its review rules (see
        ``services/whatsapp/templates.py``): refused here, with the rule."""
        for template in self:
            # Only a body still to submit: what Meta reviewed is Meta's call
            # (a sync explains a rejection instead, see _values_from_meta).
            if template.status != "draft":
                continue
            problems = template._review_problems()
            if problems:
                raise ValidationError(
                    _(
                        "Template %(template)s would be rejected by Meta:\n%(rules)s",
                        template=template.display_name,
                        rules="\n".join(problems),
                    )
                )

    def _review_problems(self, body=None):
        """The review rules ``body`` (this template's by default) breaks, one
        sentence each, in the user's language."""
        if body is None:
            self.ensure_one()
            body = self.body_text
        messages = []
        for rule, details in review_problems(body):
            if rule == "numbering":
                messages.append(
                    _(
                        "Numbering: the variables must be {{1}}, {{2}}... "
                        "without gaps (found %(found)s).",
                        **details,
                    )
                )
            elif rule == "edge" and details["where"] == "start":
                messages.append(_("Start: the body must not start with a variable."))
            elif rule == "edge":
                messages.append(_("End: the body must not end with a variable."))
            elif rule == "adjacent":
                messages.append(
                    _(
                        "Adjacent variables: put words between %(pair)s.",
                        **details,
                    )
                )
            else:
                messages.append(
                    _(
                        "Length: %(variables)s variables need at least "
                        "%(minimum)s words of fixed text (%(per)s per variable); "
                        "the body has %(words)s.",
                        per=MIN_WORDS_PER_VARIABLE,
                        **details,
                    )
                )
        return messages
