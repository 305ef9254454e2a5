app_name = "passwords"

urlpatterns = []
