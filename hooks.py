def post_init_hook(env):
    """Give every company that existed before the install its default policy
    and its segments."""
    companies = env["res.company"].search([])
    companies.filtered(lambda c: not c.dunning_policy_id)._dunning_create_policy()
    companies._dunning_create_segments()
