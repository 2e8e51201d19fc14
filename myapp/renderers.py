"""The ``json`` renderer, backed by orjson."""

import orjson


def json_renderer_factory(info):
    def render(value, system):
        request = system.get("request")
        if request is not None:
            response = request.response
            if response.content_type == response.default_content_type:
                response.content_type = "application/json"
        return orjson.dumps(value)

    return render


def includeme(config):
    config.add_renderer("json", json_renderer_factory)
