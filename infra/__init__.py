"""The local runtime: template.yaml emulated on loopback (moto for AWS, the handlers in-process).

``python -m infra.runtime`` (``make run``) starts it; ``infra.template`` is also what tests use to
build moto resources from the template.
"""
