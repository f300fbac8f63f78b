"""A Django project with django-allauth's account and MFA apps, as their users meet them.

Run it from the repository root: ``python -m tests.thirdparty.apps.allauth_site --data-dir DIR``.
"""
