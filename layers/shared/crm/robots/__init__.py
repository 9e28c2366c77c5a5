"""The robot types: one module each, named after the type's code, which registers its ``RuleType``
in ``crm.domain.rules.CATALOGUE``. The catalogue imports a type's module the first time the type is
asked for; the other modules here are the types' shared helpers (``inside``, ``outside``, ``web``).

A robot type is pure: it acts through the ports in its context (``crm.domain.robots.RobotContext``)
and asks for changes to its item as ``Effects``.
"""
