"""Dashboard HTML pages: thin views (selector -> chart -> template), urls, charts."""
