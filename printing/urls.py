from django.urls import path

from printing import views

app_name = "printing"

urlpatterns = [
    path("print/account/<int:pk>/<slug:variant>/", views.account, name="account"),
    path("print/group/", views.group_choose, name="group_choose"),
    path("print/group/<slug:variant>/", views.group, name="group"),
    path("print/selected/<slug:variant>/", views.selected, name="selected"),
    path("downloads/", views.downloads, name="downloads"),
    path("downloads/<slug:slug>/", views.download_warning, name="download_warning"),
    path("downloads/<slug:slug>/csv/", views.download, name="download"),
]
