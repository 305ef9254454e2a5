"""Managing users. ump/urls.py mounts these in the `accounts` namespace, where their names have always been
(`accounts:manage_add`, `accounts:audit`...), so links and tests did not change when the pages moved here."""

from django.urls import path

from managing import views

urlpatterns = [
    path("users/manage/add/<slug:section>/", views.add_user_warning, name="manage_add_warning"),
    path("users/manage/add/<slug:section>/form/", views.add_user, name="manage_add"),
    path(
        "users/manage/add/<slug:section>/form/generate/<slug:style>/",
        views.add_user_generate,
        name="manage_add_generate",
    ),
    path("users/manage/expiring/", views.expiring, name="manage_expiring"),
    path("users/manage/expiring/<int:pk>/keep/", views.expiring_keep, name="manage_keep"),
    path("users/manage/expiring/<int:pk>/close/", views.expiring_close, name="manage_close"),
    path("users/account/<int:pk>/deactivate/", views.deactivate, name="manage_deactivate"),
    path("users/account/<int:pk>/activate/", views.activate, name="manage_activate"),
    path("users/account/<int:pk>/rename/", views.rename, name="manage_rename"),
    path("audit/", views.audit, name="audit"),
    path("audit/export/", views.audit_export, name="audit_export"),
]
