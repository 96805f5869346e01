"""Subcommands of the ``lstmkit`` console script, one module each (``register(sub)`` adds
the parser, ``run(args)`` does the work)."""
