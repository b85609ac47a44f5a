from . import whatsapp_webhook
from . import portal
