import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ump.settings")
application = get_wsgi_application()

# What the worker has loaded (Django, the apps, their modules) lives as long as the worker: moved out of the
# garbage collector's generations, so that its collections during requests walk only the requests' own objects.
gc.freeze()
