"""Config files into validated desired state: YAML with positions and `${VAR}` by the trust
rules, the schema models, loading and merging, and the PIN policy. Every problem has file:line.
"""
