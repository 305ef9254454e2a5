app_name = "printing"

urlpatterns = []
