"""WhatsApp Business Cloud API: sending, error classes, webhooks (WHATSAPP.md).

One module per responsibility, each pure Python (no Odoo import) so that it can
be unit-tested alone; import from the module that defines a name:

* :mod:`.errors` - what a failure means and what to do about it:
  :class:`~.errors.WhatsAppError` and its subclasses, decided by Meta's
  ``error.code`` (:func:`~.errors.classify`), never by the HTTP status or the text;
* :mod:`.payloads` - template and text message bodies, built and validated
  before sending (:func:`~.payloads.build_template_payload`,
  :func:`~.payloads.validate_template_params`) so that a message Meta would
  reject never leaves;
* :mod:`.client` - :class:`~.client.WhatsAppClient` over ``requests``: sends,
  the phone number's details, the account's templates, timeouts and results;
* :mod:`.webhook` - signature and subscription checks, bounded body decoding,
  :func:`~.webhook.parse_webhook`, :func:`~.webhook.key_hash`;
* :mod:`.events` - the typed events a webhook carries
  (:class:`~.events.StatusEvent`, :class:`~.events.MessageEvent`), opt-out
  keywords and the order of delivery statuses;
* :mod:`.values` - Graph JSON values read defensively (shared by the above);
* :mod:`.templates` - Meta's review rules for a template's body
  (:func:`~.templates.review_problems`) and the templates the add-on ships.

The access token never appears in an exception, a repr or a log.
"""
