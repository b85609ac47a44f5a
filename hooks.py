def post_init_hook(env):
    """Give every company that existed before the install its default policy."""
    env["res.company"].search(
        [("dunning_policy_id", "=", False)]
    )._dunning_create_policy()
