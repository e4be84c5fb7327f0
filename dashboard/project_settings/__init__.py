"""Project settings pages for project admins: general, categories, rules, tokens, uploads."""
