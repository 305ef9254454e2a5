from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views, views_manage

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("profile/", views.profile, name="profile"),
    path("users/account/<int:pk>/", views.account_detail, name="account_detail"),
    path("users/<slug:section>/", views.user_list, name="user_list"),
    # Managing users (accounts/views_manage.py).
    path("users/manage/add/<slug:section>/", views_manage.add_user_warning, name="manage_add_warning"),
    path("users/manage/add/<slug:section>/form/", views_manage.add_user, name="manage_add"),
    path("users/manage/expiring/", views_manage.expiring, name="manage_expiring"),
    path("users/manage/expiring/<int:pk>/keep/", views_manage.expiring_keep, name="manage_keep"),
    path("users/manage/expiring/<int:pk>/close/", views_manage.expiring_close, name="manage_close"),
    path("users/account/<int:pk>/deactivate/", views_manage.deactivate, name="manage_deactivate"),
    path("users/account/<int:pk>/activate/", views_manage.activate, name="manage_activate"),
    path("users/account/<int:pk>/rename/", views_manage.rename, name="manage_rename"),
    path("audit/", views_manage.audit, name="audit"),
    path("audit/export/", views_manage.audit_export, name="audit_export"),
]
