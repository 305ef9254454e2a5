from django.urls import path

from mfa import views

app_name = "mfa"

urlpatterns = [
    path("security/networks/", views.networks, name="networks"),
]
