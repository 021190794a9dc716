import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def freeze_loaded_objects() -> None:
    """Keep what is loaded now out of every later garbage collection.

    A loaded worker holds a great many objects the collector tracks (modules, classes,
    settings, URL patterns, serializers) that live as long as the process. Each full
    collection rescans them all and lands on whichever request triggers it, and a large
    availability answer allocates enough to trigger one every few requests. Frozen, they
    are never scanned again. Collected first, so no garbage is kept for good.
    """
    gc.collect()
    gc.freeze()


application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018 - imports the views now, so they are frozen too
freeze_loaded_objects()
