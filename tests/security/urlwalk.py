"""Walk every URL pattern of the project through the resolver and build a concrete URL for it.

URLs added by any branch are picked up automatically. A pattern whose arguments the walker does
not know how to fill fails the matrix test by name: add the argument to `argument_value`.
"""

from dataclasses import dataclass

from django.contrib.admin import site
from django.contrib.contenttypes.models import ContentType
from django.urls import URLResolver, get_resolver, reverse

UNKNOWN = object()


@dataclass
class Route:
    key: str  # "namespace:name", or "namespace:<route ...>" for an unnamed pattern
    route: str
    pattern: object
    kwargs: tuple

    @property
    def model_admin(self):
        found = getattr(self.pattern.callback, "model_admin", None)
        if found is not None or not self.key.startswith("admin:"):
            return found
        # Extra admin views (simple-history's) are not tagged: find the model by URL name.
        matches = [
            model_admin
            for model, model_admin in site._registry.items()
            if self.key.startswith(f"admin:{model._meta.app_label}_{model._meta.model_name}_")
        ]
        return max(matches, key=lambda m: len(m.model._meta.model_name), default=None)


def _kwarg_names(pattern):
    """Argument names; unnamed regex groups (simple-history's admin URLs) become "#0", "#1"."""
    inner = pattern.pattern
    if getattr(inner, "converters", None):
        return tuple(inner.converters)
    regex = inner.regex
    if regex.groupindex:
        return tuple(regex.groupindex)
    return tuple(f"#{i}" for i in range(regex.groups))


def walk(resolver=None, namespace="", prefix="", parent_kwargs=()):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = ":".join(n for n in (namespace, entry.namespace) if n)
            kwargs = parent_kwargs + _kwarg_names(entry)
            yield from walk(entry, ns, prefix + str(entry.pattern), kwargs)
            continue
        route = prefix + str(entry.pattern)
        name = entry.name or f"<route {route}>"
        key = f"{namespace}:{name}" if namespace else name
        yield Route(key, route, entry, parent_kwargs + _kwarg_names(entry))


def argument_value(route, name, objects):
    """A value for URL argument `name` of `route`, pointing at objects the test created."""
    admin = route.model_admin
    if admin is not None and name in ("#0", "#1"):
        name = {"#0": "object_id", "#1": "history_id"}[name]  # simple-history's revert view
    if name == "id" and route.key == "admin:auth_user_password_change":
        return str(objects["user"].pk)
    if admin is not None and name == "object_id":
        obj = admin.model._default_manager.order_by("pk").first()
        return str(obj.pk) if obj is not None else "0"
    if admin is not None and name == "history_id":
        obj = admin.model._default_manager.order_by("pk").first()
        history = getattr(obj, "history", None) if obj is not None else None
        row = history.order_by("history_id").first() if history is not None else None
        return str(row.history_id) if row is not None else "0"
    if name == "app_label":
        return "tracker"
    if name == "content_type_id":
        return str(ContentType.objects.get_for_model(objects["finding"]).pk)
    if name == "object_id":
        return str(objects["finding"].pk)
    if name in ("pk", "finding_id", "finding_pk"):
        from tracker.access import OBJECT_URLS

        return str(objects[OBJECT_URLS.get(route.key, "finding")].pk)
    if name == "uidb64":
        return "MQ"
    if name == "token":
        return "set-password"
    if name == "url":
        return "no-such-page/"
    return UNKNOWN


def url_for(route, objects):
    """(url, None) or (None, reason)."""
    kwargs = {}
    for name in route.kwargs:
        value = argument_value(route, name, objects)
        if value is UNKNOWN:
            return None, f"{route.key}: no test value for URL argument '{name}'"
        kwargs[name] = value
    if route.pattern.name:
        if any(name.startswith("#") for name in kwargs):
            return reverse(route.key, args=list(kwargs.values())), None
        return reverse(route.key, kwargs=kwargs or None), None
    # Unnamed pattern: fill the route by hand.
    url = "/" + route.route.lstrip("^").rstrip("$")
    for name, value in kwargs.items():
        url = url.replace(f"(?P<{name}>.*)", value)
    return url, None
