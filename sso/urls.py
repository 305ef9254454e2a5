"""The provider's endpoints (in django-oauth-toolkit's namespace, which its views reverse) and the Connected
services pages (namespace `sso`). ump/urls.py mounts both at the root: discovery must sit at
/.well-known/openid-configuration beside the issuer."""

from django.urls import path
from oauth2_provider import views as dot

from sso import views

provider_patterns = [
    path(
        ".well-known/openid-configuration", views.DiscoveryView.as_view(), name="oidc-connect-discovery-info"
    ),
    path(".well-known/jwks.json", dot.JwksInfoView.as_view(), name="jwks-info"),
    path("oidc/authorize/", views.AuthorizeView.as_view(), name="authorize"),
    path("oidc/token/", views.TokenView.as_view(), name="token"),
    path("oidc/revoke/", views.RevokeView.as_view(), name="revoke-token"),
    path("oidc/introspect/", views.IntrospectView.as_view(), name="introspect"),
    path("oidc/userinfo/", views.UserInfoView.as_view(), name="user-info"),
    path("oidc/logout/", views.LogoutView.as_view(), name="rp-initiated-logout"),
]

app_name = "sso"
urlpatterns = [
    path("connected-services/", views.client_list, name="clients"),
    path("connected-services/<int:pk>/rotate/", views.client_rotate, name="client_rotate"),
    path("connected-services/<int:pk>/disable/", views.client_disable_view, name="client_disable"),
]
