/** @odoo-module */
// Tours of the customer statement page (tests/test_portal.py), run as a visitor
// without an Odoo login, from the link a reminder carries.

import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("dunning_portal_pay_all", {
    steps: () => [
        {
            content: "The statement lists the open invoices",
            trigger: ".o_dunning_invoice_name:contains('INV/')",
        },
        {
            content: "Pay everything (all invoices are selected by default)",
            trigger: ".o_dunning_pay",
            run: "click",
        },
        {
            content: "The payment page shows the total of the invoices",
            trigger: ".o_dunning_pay_total",
        },
        {
            content: "Pay with the demo provider (successful payment by default)",
            trigger: "button[name='o_payment_submit_button']:not(:disabled)",
            run: "click",
        },
        {
            content: "Back from the payment: the thank-you",
            trigger: ".o_dunning_thanks.alert-success",
            timeout: 20000,
        },
    ],
});

registry.category("web_tour.tours").add("dunning_portal_opt_out", {
    steps: () => [
        {
            content: "Open the contact preferences",
            trigger: ".o_dunning_contact summary",
            run: "click",
        },
        {
            content: "Stop WhatsApp messages",
            trigger: ".o_dunning_opt_out",
            run: "click",
        },
        {
            content: "The page confirms the opt-out",
            trigger: ".o_dunning_done",
        },
    ],
});

registry.category("web_tour.tours").add("dunning_portal_promise", {
    steps: () => [
        {
            content: "Open the payment date form",
            trigger: ".o_dunning_promise summary",
            run: "click",
        },
        {
            content: "Propose a date",
            trigger: "#date_promised",
            run() {
                // A week from today: within any policy's maximum.
                const inAWeek = new Date(Date.now() + 7 * 24 * 3600 * 1000);
                this.anchor.value = inAWeek.toISOString().slice(0, 10);
            },
        },
        {
            content: "Send it",
            trigger: ".o_dunning_promise_submit",
            run: "click",
        },
        {
            content: "The page confirms the promise",
            trigger: ".o_dunning_done",
        },
    ],
});

registry.category("web_tour.tours").add("dunning_portal_dispute", {
    steps: () => [
        {
            content: "Open the dispute form",
            trigger: ".o_dunning_dispute summary",
            run: "click",
        },
        {
            content: "Choose a reason",
            trigger: "#dispute_reason",
            run() {
                const select = this.anchor;
                if (select.tagName === "SELECT") {
                    select.value = select.options[1].value;
                } else {
                    select.value = "Goods not received";
                }
            },
        },
        {
            content: "Explain",
            trigger: "#dispute_comment",
            run: "edit The order arrived incomplete.",
        },
        {
            content: "Send it",
            trigger: ".o_dunning_dispute_submit",
            run: "click",
        },
        {
            content: "The page confirms the dispute",
            trigger: ".o_dunning_done",
        },
    ],
});
