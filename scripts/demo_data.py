#!/usr/bin/env python3
"""Load the demonstration data into an account_dunning database.

``make demo`` runs it once, right after it created the demo database:

    .venv/bin/python scripts/demo_data.py -c .build/odoo.conf -d dunning_demo

Everything below ``load()`` is plumbing: it opens the database with the given
Odoo configuration, calls ``load(env)`` as superuser, commits when it returns and
rolls back (exit status 1) when it raises.
"""

import argparse
import logging
import sys

import odoo
from odoo.api import Environment
from odoo.modules.registry import Registry
from odoo.tools import config

_logger = logging.getLogger("account_dunning.demo_data")


# ============================================================================
# DEMO DATA: replace the body of load() with the records to create.
# ============================================================================
def load(env):
    """Create the demo records with ``env`` (superuser, the database's company)."""
    print(f"demo_data: nothing to load yet into {env.cr.dbname}")


# ============================================================================
# Plumbing
# ============================================================================
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", required=True, help="Odoo configuration file")
    parser.add_argument("-d", "--database", required=True, help="database to load into")
    args = parser.parse_args(argv)

    config.parse_config(["-c", args.config, "-d", args.database, "--no-http"])
    registry = Registry(args.database)
    with registry.cursor() as cr:
        env = Environment(cr, odoo.SUPERUSER_ID, {})
        env = env(context=dict(env.context, **env["res.users"].context_get()))
        try:
            load(env)
            cr.commit()
        except Exception:
            cr.rollback()
            _logger.exception("Loading the demo data into %s failed", args.database)
            return 1
    _logger.info("Demo data loaded into %s", args.database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
