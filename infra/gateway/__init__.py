"""API Gateway (REST, v1 proxy integration) as the local runtime serves it, in parts as chalice's
``local.py`` has them: ``routes`` (the template's Api events, resource matching), ``events`` (the
proxy event and the proxy response), ``authorizers`` (Lambda authorizers, their cache, policy
evaluation), ``cors`` (the preflight answer) and ``server`` (HTTP with Werkzeug). ``infra.api``
puts them together.
"""
