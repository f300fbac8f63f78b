"""allauth's URLs under /accounts/ (with MFA under /accounts/2fa/), and a home page."""

from __future__ import annotations

from django.urls import include, path
from django.views.generic import TemplateView

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("accounts/", include("allauth.urls")),
]
