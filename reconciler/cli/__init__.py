"""The `accesscodes` command: arguments, output and exit codes; the work of each command.
Nothing below imports it.
"""
