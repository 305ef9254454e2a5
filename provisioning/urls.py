from django.urls import path

from provisioning import views

app_name = "provisioning"

urlpatterns = [
    path("provisioning/", views.page, name="page"),
    path("provisioning/runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("provisioning/runs/<int:pk>/approve/", views.run_approve_view, name="run_approve"),
    path("provisioning/runs/<int:pk>/reject/", views.run_reject_view, name="run_reject"),
    path("provisioning/notices/<int:pk>/accept/", views.notice_accept, name="notice_accept"),
    path("provisioning/notices/<int:pk>/dismiss/", views.notice_dismiss, name="notice_dismiss"),
    path("api/provisioning/extracts/", views.api_extract_upload, name="api_upload"),
    path("api/provisioning/runs/<int:pk>/", views.api_run_status, name="api_run"),
]
