from django.urls import path

from passwords import views

app_name = "passwords"

urlpatterns = [
    path("users/account/<int:pk>/password/reveal/", views.reveal, name="reveal"),
    path("users/account/<int:pk>/password/reset/", views.reset_page, name="reset"),
    path("users/account/<int:pk>/password/reset/chosen/", views.reset_chosen, name="reset_chosen"),
    path("profile/password/", views.own_password, name="own_password"),
    path("groups/reset/", views.group_reset_choose, name="group_reset"),
    path("groups/reset/confirm/", views.group_reset_confirm, name="group_reset_confirm"),
    path("groups/reset/<int:pk>/", views.group_reset_job, name="group_reset_job"),
    path("groups/reset/<int:pk>/status/", views.group_reset_status, name="group_reset_status"),
]
