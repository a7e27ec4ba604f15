"""A small OpenID provider (django-oauth-toolkit) that the single sign-on tests start in a subprocess."""
