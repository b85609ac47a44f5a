# Copyright 2026 account_dunning contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Collections and Dunning (Cobranza)",
    "summary": "Automatic email reminders around the due date, collection levels, "
    "contact windows in the debtor's time zone and a full contact audit trail",
    "version": "18.0.1.0.0",
    "category": "Accounting/Accounting",
    "license": "LGPL-3",
    "author": "account_dunning contributors",
    "website": "https://github.com/account-dunning/account_dunning",
    "maintainers": ["account-dunning"],
    "depends": ["account", "account_payment", "mail", "portal", "phone_validation"],
    "external_dependencies": {"python": ["phonenumbers", "requests"]},
    "data": [
        "security/account_dunning_groups.xml",
        "security/ir.model.access.csv",
        "security/account_dunning_rules.xml",
        "data/dunning_weekday_data.xml",
        "data/dunning_holiday_data.xml",
        "data/mail_template_data.xml",
        "data/dunning_policy_data.xml",
        "data/ir_cron_data.xml",
        "report/dunning_statement_templates.xml",
    ],
    "demo": [],
    "post_init_hook": "post_init_hook",
    "installable": True,
    "application": False,
}
